"""The dataset preview's picture stays small whatever the dataset holds."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app.previews import LABEL_WIDTH, MAX_ROWS, MAX_TILE, PAD, class_grid, tile_size


def test_small_images_are_enlarged_and_large_ones_shrunk():
    assert tile_size(8, 8) == (48, 48)  # 6× nearest-neighbour
    assert tile_size(28, 28) == (56, 56)
    assert tile_size(64, 64) == (64, 64)
    assert tile_size(1000, 500) == (MAX_TILE, MAX_TILE // 2)


def test_many_classes_of_large_images_give_a_bounded_picture():
    n_classes, per = 500, 2
    images = np.random.default_rng(0).integers(0, 255, (n_classes * per, 300, 300, 3),
                                               dtype=np.uint8)
    labels = np.repeat(np.arange(n_classes), per)
    png = class_grid(images, labels, [f"class{i}" for i in range(n_classes)], per_class=32)
    grid = Image.open(io.BytesIO(png))
    rows = MAX_ROWS + 1  # the last row says how many classes are not drawn
    assert grid.size == (LABEL_WIDTH + 32 * (MAX_TILE + PAD) + PAD, rows * (MAX_TILE + PAD) + PAD)


def test_each_row_holds_its_own_class():
    images = np.stack([np.full((4, 4), v, np.uint8) for v in (0, 0, 128)])
    labels = np.array([0, 0, 1])
    grid = np.asarray(Image.open(io.BytesIO(class_grid(images, labels, ["dark", "light"], 2))))
    first_tile = grid[PAD + 10, LABEL_WIDTH + PAD + 10]
    second_row = grid[PAD + 48 + PAD + 10, LABEL_WIDTH + PAD + 10]
    empty_slot = grid[PAD + 48 + PAD + 10, LABEL_WIDTH + PAD + 48 + PAD + 10]
    assert first_tile.tolist() == [0, 0, 0] and second_row.tolist() == [128, 128, 128]
    assert empty_slot.tolist() == [255, 255, 255]  # "light" has one image: the rest is blank
