"""Boundary IoU (Cheng et al., "Boundary IoU: Improving Object-Centric Image Segmentation
Evaluation", CVPR 2021), for semantic segmentation.

Definition, per class ``c`` of one image: ``G`` and ``P`` are the ground truth's and the
prediction's masks of ``c``; ``G_d`` and ``P_d`` their *boundary bands*, the pixels of the mask
that lie within ``d`` pixels of its contour; then

    boundary IoU(c) = |G_d & P_d| / |G_d | P_d|

with ``d = max(1, round(0.02 * image diagonal))`` (the paper's dilation ratio of 2%).
Conventions, as in the paper's reference code:

* distance is the chessboard distance (the band is "mask minus its erosion by a 3 x 3 square
  applied d times"), so a pixel is in the band when a pixel of another class lies in the
  (2d + 1) x (2d + 1) square around it;
* the image border counts as contour (outside the image is "not c");
* ignored ground-truth pixels (``IGNORE_INDEX``) are "not c" when bands are formed, and are
  then left out of both counts, as they are for IoU.

Over a data set the intersections and unions are summed per class over the images and then
divided (as mmsegmentation's IoUMetric does for IoU); a class with an empty union has no
value (NaN) and is left out of the mean.

Two implementations: :func:`boundary_band` for one binary mask (a distance transform, the
definition as written) and :func:`class_bands` for every class of a label map at once (a
min/max filter over the square: a pixel is in its class's band iff the square around it
holds another value). The tests check that they agree.
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np
from scipy import ndimage

from ssa_seg.classifier import IGNORE_INDEX

DILATION_RATIO = 0.02


def band_width(size: Tuple[int, int], ratio: float = DILATION_RATIO) -> int:
    """d in pixels for an image of ``size`` (H, W): ``max(1, round(ratio * diagonal))``."""
    height, width = size
    return max(1, int(round(ratio * math.hypot(height, width))))


def boundary_band(mask: np.ndarray, d: int) -> np.ndarray:
    """Pixels of the binary ``mask`` (H x W) within chessboard distance ``d`` of its contour.

    The distance of a mask pixel to the nearest non-mask pixel (the image is surrounded by a
    one-pixel frame of non-mask) is at most ``d``.
    """
    mask = np.asarray(mask, dtype=bool)
    framed = np.pad(mask, 1, constant_values=False)
    distance = ndimage.distance_transform_cdt(framed, metric='chessboard')[1:-1, 1:-1]
    return mask & (distance <= d)


def class_bands(label: np.ndarray, d: int) -> np.ndarray:
    """Boundary bands of every class of an H x W class map at once: True where the pixel lies
    in the band of its own class (``label[p]``), i.e. ``boundary_band(label == label[p], d)``.
    """
    label = np.asarray(label)
    size = 2 * d + 1
    # the frame value differs from every class, so the image border is contour
    low = ndimage.minimum_filter(label, size=size, mode='constant', cval=0)
    high = ndimage.maximum_filter(label, size=size, mode='constant', cval=0)
    band = low != high
    # with cval=0, pixels near the border of a class-0 region are not caught by the filters
    border = np.zeros(label.shape, dtype=bool)
    border[:d], border[-d:], border[:, :d], border[:, -d:] = True, True, True, True
    return band | border


def boundary_counts(pred: np.ndarray, label: np.ndarray, num_classes: int,
                    d: int | None = None, label_bands: np.ndarray | None = None,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """2 x K int64: per class, |G_d & P_d| and |G_d | P_d| on one image (ignored pixels left
    out). ``d`` defaults to :func:`band_width` of the image; ``label_bands`` (from
    :func:`class_bands` of ``label``) may be passed in when several predictions share a label.
    """
    pred, label = np.asarray(pred), np.asarray(label)
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} differ in size')
    d = band_width(label.shape) if d is None else d
    gt_band = class_bands(label, d) if label_bands is None else label_bands
    pred_band = class_bands(pred, d)
    valid = label != ignore_index
    gt_in = gt_band & valid & (label < num_classes)
    pred_in = pred_band & valid & (pred < num_classes)
    both = gt_in & pred_in & (pred == label)
    gt_area = np.bincount(label[gt_in].astype(np.int64), minlength=num_classes)[:num_classes]
    pred_area = np.bincount(pred[pred_in].astype(np.int64), minlength=num_classes)[:num_classes]
    inter = np.bincount(label[both].astype(np.int64), minlength=num_classes)[:num_classes]
    return np.stack([inter, gt_area + pred_area - inter]).astype(np.int64)


def boundary_iou(counts: np.ndarray) -> np.ndarray:
    """Per-class boundary IoU (0..1, NaN where the union is empty) from summed counts."""
    inter, union = np.asarray(counts, dtype=np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)
