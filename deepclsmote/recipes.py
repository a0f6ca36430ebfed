"""Named recipes: which sampler, with which parameters, and where it is measured.

A recipe is a sampler class and the parameters that differ from its
defaults. ``recommended`` is whichever measures best against random
oversampling with augmentation (``docs/results.md``); the two published
methods stay one name away, as published. Every entry point (the library's
:func:`make_sampler`, the command line, the service's train and evaluate jobs)
resolves names here, so a name means the same everywhere.

>>> from deepclsmote import make_sampler
>>> sampler = make_sampler("recommended", epochs=30, random_state=0)
>>> sampler.decoding, sampler.interpolation, sampler.step_scale, sampler.epochs
('residual', 'transfer', 1.5, 30)
>>> sorted(RECIPES)
['deepclsmote-paper', 'deepsmote-paper', 'recommended']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import BaseDeepOverSampler


@dataclass(frozen=True)
class Recipe:
    """One named configuration of a sampler.

    Attributes
    ----------
    name : str
        What users type.
    estimator : str
        ``"DeepCLSMOTE"`` or ``"DeepSMOTE"``.
    params : Mapping
        The parameters that differ from the estimator's defaults.
    description : str
        One line for menus, the API schema and reports.
    measured : str
        Where its figures are: a section of ``docs/results.md``.
    """

    name: str
    estimator: str
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    measured: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


#: The default everywhere: a train job without a recipe, ``make_sampler()``.
DEFAULT_RECIPE = "recommended"

RECIPES: Mapping[str, Recipe] = MappingProxyType({r.name: r for r in (
    Recipe(
        "recommended", "DeepCLSMOTE",
        {"decoding": "residual", "interpolation": "transfer", "step_scale": 1.5},
        "The best measured: DeepCLSMOTE's autoencoder; each new image is a real image plus "
        "the decoded change of a step that any class shows between two of its images "
        "(residual decoding, transfer steps up to 1.5 times)",
        "docs/results.md#the-recipes-against-random-oversampling"),
    Recipe(
        "deepclsmote-paper", "DeepCLSMOTE", {},
        "DeepCLSMOTE as published (Homjandee and Sinapiromsaran, 2025): the class-latent "
        "terms, SMOTE between a class's own codes, new codes decoded directly",
        "docs/results.md#the-recipes-against-random-oversampling"),
    Recipe(
        "deepsmote-paper", "DeepSMOTE", {},
        "DeepSMOTE as published (Dablain, Krawczyk and Chawla, 2022): SMOTE between a "
        "class's own codes, new codes decoded directly",
        "docs/results.md#the-recipes-against-random-oversampling"),
)})

#: Parameters that describe a run rather than the method: never part of a recipe.
_NOT_RECIPE = frozenset({"random_state", "callback", "device", "checkpoint_path",
                         "checkpoint_every"})


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``, or a ``ValueError`` that lists the known names."""
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown recipe {name!r}; choose from {list(RECIPES)}.") from None


def _estimator_class(name: str) -> type[BaseDeepOverSampler]:
    from .base import BaseDeepOverSampler
    from .sampler import DeepCLSMOTE, DeepSMOTE  # noqa: F401  (registers both)

    return BaseDeepOverSampler._registry[name]


def resolve(name: str, overrides: Mapping[str, Any] | None = None, *,
            complete: bool = False) -> dict[str, Any]:
    """The constructor parameters of recipe ``name`` with ``overrides`` applied.

    Only the recipe's own parameters and the overrides are returned, unless
    ``complete``: then every parameter that describes the method (the run's
    settings, such as the device, left out) with the estimator's defaults
    filled in. An override the estimator does not take is refused by name,
    with the parameters it does take.

    Examples
    --------
    >>> resolve("recommended", {"epochs": 5})["step_scale"]
    1.5
    >>> resolve("deepsmote-paper", {"w_compact": 0.1})
    Traceback (most recent call last):
    ...
    ValueError: recipe 'deepsmote-paper' (DeepSMOTE) has no parameter 'w_compact'; ...
    """
    recipe = get_recipe(name)
    overrides = dict(overrides or {})
    cls = _estimator_class(recipe.estimator)
    accepted = set(cls._get_param_names())
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        listed = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"recipe {name!r} ({recipe.estimator}) has no parameter"
                         f"{'s' if len(unknown) > 1 else ''} {listed}; its parameters are "
                         f"{sorted(accepted - _NOT_RECIPE)}.")
    if complete:
        defaults = {k: v for k, v in cls().get_params().items()
                    if k not in _NOT_RECIPE or k == "random_state"}
        return {**defaults, **recipe.params, **overrides}
    return {**recipe.params, **overrides}


def make_sampler(recipe: str = DEFAULT_RECIPE, **overrides: Any):
    """A sampler built from a named recipe; any keyword overrides the recipe's value.

    Parameters
    ----------
    recipe : str, default="recommended"
        A name in :data:`RECIPES`: ``"recommended"`` (the best measured),
        ``"deepclsmote-paper"`` or ``"deepsmote-paper"`` (the published methods).
    **overrides
        Any parameter of the recipe's estimator (``epochs``, ``random_state``,
        ``sampling_strategy``, ``device``...).

    Returns
    -------
    DeepCLSMOTE or DeepSMOTE
        Unfitted. Its saved model records the recipe (see :func:`describe`).

    Examples
    --------
    >>> from deepclsmote import make_sampler
    >>> make_sampler("deepsmote-paper", epochs=2).__class__.__name__
    'DeepSMOTE'
    """
    params = resolve(recipe, overrides)
    sampler = _estimator_class(get_recipe(recipe).estimator)(**params)
    sampler._recipe = recipe     # private: get_params and clone leave it out
    return sampler


def describe(estimator: str, params: Mapping[str, Any], *,
             name: str | None = None) -> dict[str, Any]:
    """``{"name", "overrides"}``: a sampler's parameters as a recipe and what differs from it.

    ``name`` is the recipe it was made from, when known; otherwise the
    recipe of the same estimator that differs in the fewest parameters is
    chosen (the first listed on a tie), so models made by a constructor, or
    saved before recipes existed, are described too. ``random_state`` and
    the run's settings (device, callback, checkpoints) are not overrides.

    Examples
    --------
    >>> describe("DeepCLSMOTE", {"decoding": "residual", "interpolation": "transfer",
    ...                          "step_scale": 1.5, "epochs": 30})
    {'name': 'recommended', 'overrides': {'epochs': 30}}
    """
    cls = _estimator_class(estimator)
    defaults = {k: v for k, v in cls().get_params().items() if k not in _NOT_RECIPE}
    actual = {**defaults, **{k: v for k, v in params.items() if k not in _NOT_RECIPE}}

    def overrides(recipe: Recipe) -> dict[str, Any]:
        wanted = {**defaults, **recipe.params}
        return {k: v for k, v in actual.items() if wanted.get(k) != v}

    candidates = [r for r in RECIPES.values() if r.estimator == estimator]
    if name is not None and name in RECIPES and RECIPES[name].estimator == estimator:
        chosen = RECIPES[name]
    elif candidates:
        chosen = min(candidates, key=lambda r: len(overrides(r)))
    else:
        return {"name": None, "overrides": {}}
    return {"name": chosen.name, "overrides": overrides(chosen)}


__all__ = ["DEFAULT_RECIPE", "RECIPES", "Recipe", "describe", "get_recipe", "make_sampler",
           "resolve"]
