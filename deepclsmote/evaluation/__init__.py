"""Building blocks of the evaluation: imbalanced splits, classifiers and metrics.

>>> from deepclsmote.datasets import load_digits
>>> from deepclsmote.evaluation import geometric_counts, imbalanced_split
>>> ds = load_digits()
>>> counts = geometric_counts(100, 10, 10)
>>> train, test = imbalanced_split(ds.labels, counts, random_state=0)
>>> len(train) == sum(counts)
True
"""

from .classifiers import (
    MODELS,
    SimpleCNN,
    TrainSpec,
    augment_batch,
    build_classifier,
    images_to_tensor,
    predict,
    resnet18_small,
    train_classifier,
)
from .imbalance import (
    MNIST_TEST_COUNTS,
    PAPER_COUNTS,
    geometric_counts,
    imbalanced_split,
    scale_to_fit,
    stratified_folds,
)
from .metrics import classification_report, paired_wilcoxon, summarise

__all__ = [
    "MODELS",
    "MNIST_TEST_COUNTS",
    "PAPER_COUNTS",
    "SimpleCNN",
    "TrainSpec",
    "augment_batch",
    "build_classifier",
    "classification_report",
    "geometric_counts",
    "images_to_tensor",
    "imbalanced_split",
    "paired_wilcoxon",
    "predict",
    "resnet18_small",
    "scale_to_fit",
    "stratified_folds",
    "summarise",
    "train_classifier",
]
