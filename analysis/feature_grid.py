"""Where the cells of a model's feature grid lie on the processing-size image.

A model sees the processing-size image (H x W, ``LoadedImage.work``) through its test
pipeline: resized to ``scaled_size`` (Hs x Ws, mmseg's ``img_shape``), padded bottom/right to
``padded_size`` (Hp x Wp), and its head returns an h x w feature grid over that padded input.
Every map from one grid to another here is the ratio map that nearest-neighbour resizing
(:func:`analysis.extract.label_to_feature_grid`) and the upsampling of the logits use, so:

    image pixel (y, x) lies in feature cell (row, col) with
        row = floor((y + 0.5) * (Hs / H) * (h / Hp)),   col likewise with W, Ws, Wp, w,

that is, the cell whose extent holds the pixel's centre. A cell's *pixel box* is the
half-open range of image pixels that lie in it, ``[y0, y1) x [x0, x1)``; with the demo
models (256 x 256 image, resized to 128, stride 4) cell (r, c) is rows 8r..8r+7, columns
8c..8c+7. Cells over padding hold no image pixel (an empty box, ``y0 == y1``).

Integers only (no float rounding): the row of pixel y is
``((2y + 1) * Hs * h) // (2 * H * Hp)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

Size = Tuple[int, int]
MIXED = -1          # a cell whose labelled pixels have several classes


@dataclass(frozen=True)
class FeatureGrid:
    """The geometry of one model's h x w feature grid over the H x W processing image.

    image_size: (H, W); feature_size: (h, w); scaled_size: (Hs, Ws), the image after the
    test pipeline's resize; padded_size: (Hp, Wp), the network input (>= scaled_size).
    """
    image_size: Size
    feature_size: Size
    scaled_size: Size
    padded_size: Size

    def __post_init__(self):
        sizes = (self.image_size, self.feature_size, self.scaled_size, self.padded_size)
        if any(int(v) < 1 for size in sizes for v in size):
            raise ValueError(f'feature grid sizes must be positive, got {sizes}')
        if any(s > p for s, p in zip(self.scaled_size, self.padded_size)):
            raise ValueError(f'scaled size {self.scaled_size} exceeds the padded size '
                             f'{self.padded_size}')

    @classmethod
    def from_meta(cls, image_size: Size, feature_size: Size,
                  meta: Optional[dict] = None) -> 'FeatureGrid':
        """The grid of a model run whose data sample carried ``meta`` (mmseg ``img_shape``,
        ``pad_shape`` or ``batch_input_shape``), as :func:`label_to_feature_grid` reads it;
        without them the grid spans the image directly."""
        meta = meta or {}
        image_size = (int(image_size[0]), int(image_size[1]))
        scaled = meta.get('img_shape')
        scaled = image_size if scaled is None else (int(scaled[0]), int(scaled[1]))
        pad = meta.get('pad_shape') or meta.get('batch_input_shape')
        padded = scaled if pad is None else (max(int(pad[0]), scaled[0]),
                                             max(int(pad[1]), scaled[1]))
        return cls(image_size, (int(feature_size[0]), int(feature_size[1])), scaled, padded)

    def _axis(self, axis: int) -> np.ndarray:
        """The cell index (along ``axis``: 0 rows, 1 columns) of every image pixel."""
        n, s, f, p = (self.image_size[axis], self.scaled_size[axis], self.feature_size[axis],
                      self.padded_size[axis])
        return (2 * np.arange(n, dtype=np.int64) + 1) * s * f // (2 * n * p)

    def pixel_cells(self) -> Tuple[np.ndarray, np.ndarray]:
        """(H,) cell rows of the image rows and (W,) cell columns of the image columns."""
        return self._axis(0), self._axis(1)

    def cell_of(self, y: int, x: int) -> Tuple[int, int]:
        """The feature cell (row, col) holding image pixel (y, x); ValueError outside."""
        height, width = self.image_size
        if not (0 <= int(y) < height and 0 <= int(x) < width):
            raise ValueError(f'pixel ({y}, {x}) is outside the {height} x {width} image')
        rows, cols = self.pixel_cells()
        return int(rows[int(y)]), int(cols[int(x)])

    def cell_boxes(self) -> np.ndarray:
        """h x w x 4 int64: every cell's pixel box (y0, x0, y1, x1), half-open."""
        rows, cols = self.pixel_cells()
        h, w = self.feature_size
        r = np.arange(h)
        c = np.arange(w)
        y0, y1 = np.searchsorted(rows, r, 'left'), np.searchsorted(rows, r, 'right')
        x0, x1 = np.searchsorted(cols, c, 'left'), np.searchsorted(cols, c, 'right')
        boxes = np.empty((h, w, 4), dtype=np.int64)
        boxes[..., 0], boxes[..., 2] = y0[:, None], y1[:, None]
        boxes[..., 1], boxes[..., 3] = x0[None, :], x1[None, :]
        return boxes

    def boxes(self, cells: np.ndarray) -> np.ndarray:
        """N x 4 pixel boxes (y0, x0, y1, x1) of N cells given as N x 2 (row, col)."""
        cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
        return self.cell_boxes()[cells[:, 0], cells[:, 1]]

    @staticmethod
    def centres(boxes: np.ndarray) -> np.ndarray:
        """N x 2 (y, x): the pixel at the middle of each box (the lower-right of the
        middle four when a side is even; an empty box gives its start)."""
        boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
        return np.stack([(boxes[:, 0] + boxes[:, 2]) // 2, (boxes[:, 1] + boxes[:, 3]) // 2],
                        axis=1)

    def cell_classes(self, label: np.ndarray, num_classes: int) -> np.ndarray:
        """h x w int64: the one class of each cell's labelled image pixels, :data:`MIXED`
        where they have several, ``IGNORE_INDEX`` where the cell has none.

        label: H x W class ids at the processing size; values outside 0..K-1 (255) are
        unlabelled and do not count, so a cell of one class with some ignored pixels has
        that class. A cell is *pure* when its value is not :data:`MIXED`.
        """
        label = np.asarray(label)
        if label.shape != tuple(self.image_size):
            raise ValueError(f'label of shape {label.shape} does not match the image size '
                             f'{self.image_size}')
        h, w = self.feature_size
        rows, cols = self.pixel_cells()
        cell = rows[:, None] * w + cols[None, :]
        lab = label.astype(np.int64)
        keep = (lab >= 0) & (lab < num_classes) & (lab != IGNORE_INDEX)
        pairs = np.unique(cell[keep] * num_classes + lab[keep])     # distinct (cell, class)
        cells, classes = pairs // num_classes, pairs % num_classes
        count = np.bincount(cells, minlength=h * w)
        out = np.full(h * w, IGNORE_INDEX, dtype=np.int64)
        out[cells] = classes                     # a pure cell's only class
        out[count > 1] = MIXED
        return out.reshape(h, w)
