"""Baseline against SSA-Seg on one image: both segmentations and their statistics.

Pipeline::

    image = analysis.io.load_image(path_or_bytes)          # safe decoding, RGB, size limits
    label = analysis.io.load_label(label_path, image.size, num_classes)   # optional
    pair = segment_pair(baseline_model, ssa_model, image)
    stats = comparison_statistics(image, pair, classes, label=label)

Sizes: images whose longest side exceeds ``MAX_PROCESSING_SIDE`` are segmented at that size;
masks are then returned at the image's own size (nearest upsampling), and every statistic
(pixel shares, IoU) is computed at the image's size. Everything is deterministic: same image
and models, same masks and statistics (only the measured inference times vary).
"""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, List, Mapping, Optional, Sequence

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

from .colour import disagreement_mask, error_categories
from .io import CHUNK, LoadedImage, count_values, upsample_nearest


@dataclass
class Segmentation:
    """One model's answer on one image.

    mask: H x W class indices at the image's size.   work_mask: the same at processing size.
    seconds: wall-clock time of the model call (test pipeline + forward + resize to input).
    Kept only when asked (``segment(..., keep_internals=True)``, for the pixel inspector):
    logits: K x h x w float32, the model's ``seg_logits`` at the processing size;
    head_features: 1 x C x h' x w', the classifier's input F of whole-image inference
    (None for slide inference, which computes one per window).
    """
    mask: np.ndarray
    work_mask: np.ndarray
    seconds: float
    logits: Optional[object] = None
    head_features: Optional[object] = None


@dataclass
class PairSegmentation:
    baseline: Segmentation
    ssa: Segmentation

    def __iter__(self):
        yield 'baseline', self.baseline
        yield 'ssa', self.ssa

def compact_mask(mask: np.ndarray, num_classes: Optional[int] = None) -> np.ndarray:
    """Class indices in the smallest unsigned dtype that holds them (uint8 up to 255)."""
    mask = np.asarray(mask)
    top = int(mask.max(initial=0)) if num_classes is None else max(num_classes - 1, IGNORE_INDEX)
    return mask.astype(np.uint8 if top <= 255 else np.uint16, copy=False)

def segment(model, image: LoadedImage, keep_internals: bool = False) -> Segmentation:
    """Segment ``image.work`` with an mmseg model; the mask is upsampled to the image's size.
    ``keep_internals``: also keep the logits and the head feature of this forward."""
    from ssa_seg.apis import capturing_head_features, inference_model

    capture = capturing_head_features(model) if keep_internals else nullcontext([])
    with capture as features:
        start = time.perf_counter()
        result = inference_model(model, image.work)
        seconds = time.perf_counter() - start
    work_mask = result.pred_sem_seg.data[0].cpu().numpy()
    num_classes = getattr(getattr(model, 'decode_head', None), 'num_classes', None)
    work_mask = compact_mask(work_mask, num_classes if isinstance(num_classes, int) else None)
    if work_mask.shape != image.work_size:
        raise RuntimeError(f'model returned a {work_mask.shape} mask for a {image.work_size} image')
    kept = {}
    if keep_internals:
        kept = dict(logits=result.seg_logits.data.float(),
                    head_features=features[0] if len(features) == 1 else None)
    return Segmentation(mask=upsample_nearest(work_mask, image.size), work_mask=work_mask,
                        seconds=seconds, **kept)

def segment_pair(baseline_model, ssa_model, image: LoadedImage,
                 before: Optional[Callable[[str], None]] = None,
                 keep_internals: bool = False) -> PairSegmentation:
    """Both models on the same image, one after the other, each timed on its own.
    ``before(role)`` ('baseline', then 'ssa') is called as each model starts (progress);
    ``keep_internals``: see :func:`segment`."""
    masks = {}
    for role, model in (('baseline', baseline_model), ('ssa', ssa_model)):
        if before is not None:
            before(role)
        masks[role] = segment(model, image, keep_internals)
    return PairSegmentation(**masks)

def check_pair_classes(baseline_meta: Mapping, ssa_meta: Mapping) -> None:
    """A pair is only comparable if both models predict the same classes in the same order."""
    a, b = list(baseline_meta.get('classes', ())), list(ssa_meta.get('classes', ()))
    if a != b:
        raise ValueError(f'the two models of a pair must share their classes; baseline has '
                         f'{len(a)} ({a[:3]}...), SSA-Seg has {len(b)} ({b[:3]}...)')

def classes_present(*masks: np.ndarray, ignore_index: int = IGNORE_INDEX) -> List[int]:
    """Sorted class indices that occur in any of the masks (the ignore index excluded)."""
    found = set()
    for mask in masks:
        found.update(int(v) for v in np.unique(mask))
    found.discard(ignore_index)
    return sorted(found)

def pixel_share(mask: np.ndarray, num_classes: int, ignore_index: int = IGNORE_INDEX
                ) -> np.ndarray:
    """Fraction of the (non-ignored) pixels predicted as each class; K floats summing to 1."""
    flat = np.asarray(mask).reshape(-1)
    # only classes 0..K-1 are counted, so the ignore index (255 >= K) drops out
    counts = count_values(flat, max(num_classes, int(flat.max(initial=0)) + 1))[:num_classes]
    if 0 <= ignore_index < num_classes:
        counts[ignore_index] = 0
    total = counts.sum()
    if total == 0:
        return np.zeros(num_classes, dtype=np.float64)
    return counts.astype(np.float64) / total

def confusion(pred: np.ndarray, label: np.ndarray, num_classes: int,
              ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """K x K pixel counts, rows = ground truth, columns = prediction; ignored pixels dropped."""
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} differ in size')
    flat_pred, flat_label = np.asarray(pred).reshape(-1), np.asarray(label).reshape(-1)
    matrix = np.zeros(num_classes * num_classes, dtype=np.int64)
    for start in range(0, flat_label.size, CHUNK):
        gt = flat_label[start:start + CHUNK].astype(np.int64)
        pr = flat_pred[start:start + CHUNK].astype(np.int64)
        keep = (gt != ignore_index) & (gt >= 0) & (gt < num_classes) & (pr >= 0) & \
            (pr < num_classes)
        matrix += np.bincount(gt[keep] * num_classes + pr[keep],
                              minlength=num_classes * num_classes)
    return matrix.reshape(num_classes, num_classes)

def per_class_iou(pred: np.ndarray, label: np.ndarray, num_classes: int,
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """IoU of each class on one image; NaN for classes absent from both label and prediction
    (on the non-ignored pixels), which mIoU then leaves out."""
    return iou_from_confusion(confusion(pred, label, num_classes, ignore_index))


def iou_from_confusion(matrix: np.ndarray) -> np.ndarray:
    """Per-class IoU (0..1) from a K x K confusion matrix (rows ground truth, summed over one
    image or a whole data set); NaN for classes absent from both label and prediction."""
    matrix = np.asarray(matrix, dtype=np.float64)
    intersection = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - intersection
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, intersection / np.maximum(union, 1), np.nan)

def mean_iou(iou: np.ndarray) -> Optional[float]:
    """Mean over the classes that count (non-NaN); None when none does."""
    valid = iou[~np.isnan(iou)]
    return float(valid.mean()) if valid.size else None

def _rounded(value: Optional[float], digits: int = 6) -> Optional[float]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)

def comparison_statistics(image: LoadedImage, pair: PairSegmentation, classes: Sequence[str],
                          label: Optional[np.ndarray] = None, *, pair_name: str = '',
                          model_names: Optional[Mapping[str, str]] = None,
                          ignore_index: int = IGNORE_INDEX) -> dict:
    """Everything the app reports about one comparison, as JSON-ready data.

    ``pixel_share`` lists every class (fractions of the image, computed at the image's size);
    ``evaluation`` is None without a label, else per-class IoU (null for classes absent
    from both label and prediction) and mIoU (0..1) of each model, plus the classes counted.
    """
    num_classes = len(classes)
    height, width = image.size
    names = dict(model_names or {})
    stats: dict = dict(
        pair=pair_name,
        classes=list(map(str, classes)),
        image=dict(width=width, height=height, processed_width=image.work_size[1],
                   processed_height=image.work_size[0], resized_for_processing=image.resized,
                   source_mode=image.source_mode, notes=list(image.notes)),
        models={},
        disagreement_fraction=_rounded(float(disagreement_mask(pair.baseline.mask,
                                                               pair.ssa.mask).mean())),
        evaluation=None,
    )
    for role, seg in pair:
        share = pixel_share(seg.mask, num_classes, ignore_index)
        stats['models'][role] = dict(
            name=names.get(role, role),
            inference_seconds=round(seg.seconds, 4),
            pixel_share={str(classes[k]): _rounded(share[k]) for k in range(num_classes)},
            classes_found=[str(classes[k]) for k in np.flatnonzero(share > 0)],
        )
    if label is not None:
        evaluation: dict = {}
        counted = set()
        for role, seg in pair:
            iou = per_class_iou(seg.mask, label, num_classes, ignore_index)
            counted.update(int(k) for k in np.flatnonzero(~np.isnan(iou)))
            evaluation[role] = dict(
                per_class_iou={str(classes[k]): _rounded(iou[k]) for k in range(num_classes)},
                mIoU=_rounded(mean_iou(iou)))
        evaluation['classes_in_label'] = [str(classes[k]) for k in classes_present(label)
                                          if k < num_classes]
        evaluation['ignored_pixels'] = int((label == ignore_index).sum())
        stats['evaluation'] = evaluation
    return stats


def error_breakdown(pred_a: np.ndarray, pred_b: np.ndarray, label: np.ndarray,
                    ignore_index: int = IGNORE_INDEX) -> dict:
    """Shares of the labelled pixels (0..1) where both models are right, only SSA-Seg
    (``pred_b``), only the baseline (``pred_a``), or neither; the error map's legend."""
    categories = error_categories(pred_a, pred_b, label, ignore_index)
    counts = np.bincount(categories.reshape(-1), minlength=5)[:5]
    labelled = int(counts[:4].sum())
    names = ('both_right', 'only_ssa_right', 'only_baseline_right', 'both_wrong')
    shares = {n: (_rounded(counts[i] / labelled) if labelled else None)
              for i, n in enumerate(names)}
    return dict(shares, labelled_pixels=labelled)
