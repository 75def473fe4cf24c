"""Is the gain more than noise? Paired statistics of SSA-Seg against the baseline over images.

Both models are evaluated on the same N images, so the comparison is paired: what varies
between the resamples is *which images* are counted, and both models are always counted on
the same ones. Per image and per model only the per-class intersections and unions are kept
(:class:`ImageCounts`, 2 x K each for IoU and boundary IoU); a data-set mIoU of any
multiset of images is then the sum of those counts divided per class and averaged over the
classes whose union is > 0 (as mmsegmentation's IoUMetric does).

* **Interval** (:func:`bootstrap_deltas`): a paired image bootstrap. Each resample draws N
  images with replacement (``weights``: B x N counts of each image), computes both models'
  mIoU from the summed counts and takes delta = SSA-Seg - baseline; ``ci95`` are the 2.5 and
  97.5 percentiles (numpy's linear interpolation) of the B deltas.
* **p-value** (:func:`permutation_deltas`): a paired permutation test. Under "the two models
  are exchangeable" each image's two predictions may be swapped; each permutation swaps
  them on each image with probability 1/2 (``swaps``: P x N of 0/1) and recomputes delta;
  ``p = (1 + #{|delta_perm| >= |delta_obs|}) / (1 + P)``.

When the data set is small enough that every resample (N^N ordered draws) or every swap
pattern (2^N) fits in the budget, all of them are enumerated instead of drawn: the interval
and p-value are then the exact ones (``exact: true``; the exact p-value counts the identity
among the 2^N patterns, so it is ``#{|delta| >= |delta_obs|} / 2^N``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

ROLES = ('baseline', 'ssa')
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
# what the bootstrap and the permutation test each hold in memory at once (B x N weights)
_CHUNK = 500


@dataclass
class ImageCounts:
    """One image's counts per model (role -> array), all int64, K classes.

    iou[role], biou[role]: 2 x K (intersection, union) for IoU and boundary IoU.
    confusion[role]: the off-diagonal confusion entries, ``(flat index t * K + p, count)``
        as two 1-d arrays (sparse: an image holds few of the K x K pairs).
    breakdown: 2 x 4 x K pixel counts (band, interior) x (both right, only SSA-Seg right,
        only baseline right, both wrong) x ground-truth class (:mod:`analysis.breakdown`).
    """
    iou: Dict[str, np.ndarray]
    biou: Dict[str, np.ndarray]
    confusion: Dict[str, tuple] = field(default_factory=dict)
    breakdown: Optional[np.ndarray] = None

    @classmethod
    def of(cls, matrices: Dict[str, np.ndarray], boundary: Dict[str, np.ndarray],
           breakdown: Optional[np.ndarray] = None) -> 'ImageCounts':
        """From each model's K x K confusion matrix and 2 x K boundary counts of the image."""
        iou, sparse = {}, {}
        for role, matrix in matrices.items():
            matrix = np.asarray(matrix, np.int64)
            inter = np.diag(matrix).copy()
            iou[role] = np.stack([inter, matrix.sum(0) + matrix.sum(1) - inter])
            off = matrix.copy()
            np.fill_diagonal(off, 0)
            flat = np.flatnonzero(off)
            sparse[role] = (flat, off.reshape(-1)[flat])
        return cls(iou=iou, biou={r: np.asarray(b, np.int64) for r, b in boundary.items()},
                   confusion=sparse, breakdown=breakdown)

    def pair_count(self, role: str, flat_index: int) -> int:
        """Pixels of (true, predicted) pair ``flat_index`` (t * K + p, t != p) of ``role``."""
        flat, counts = self.confusion[role]
        hit = np.flatnonzero(flat == flat_index)
        return int(counts[hit[0]]) if hit.size else 0


def stack_counts(images: Sequence[ImageCounts], kind: str = 'iou') -> np.ndarray:
    """N x 2 (baseline, SSA-Seg) x 2 (intersection, union) x K from per-image counts."""
    if not images:
        raise ValueError('no images to compare')
    return np.stack([[getattr(c, kind)[r] for r in ROLES] for c in images]).astype(np.float64)


def _iou(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)


def _miou(iou: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the classes with a value; NaN where none has one."""
    valid = ~np.isnan(iou)
    count = valid.sum(-1)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(count > 0, np.where(valid, iou, 0).sum(-1) / np.maximum(count, 1),
                        np.nan)


def deltas_for(summed: np.ndarray):
    """(delta mIoU ..., delta IoU ... x K), in percent, from summed counts ... x 2 x 2 x K
    (model, intersection/union, class)."""
    iou = _iou(summed[..., 0, :], summed[..., 1, :])          # ... x 2 x K
    miou = _miou(iou)                                          # ... x 2
    return 100.0 * (miou[..., 1] - miou[..., 0]), 100.0 * (iou[..., 1, :] - iou[..., 0, :])


def bootstrap_weights(num_images: int, resamples: int, seed: int):
    """(B x N counts of each image in each resample, exact). All N^N ordered draws when that
    is at most ``resamples``, else ``resamples`` random draws (numpy PCG64, ``seed``)."""
    if num_images ** num_images <= resamples:
        draws = np.array(list(itertools.product(range(num_images), repeat=num_images)))
        exact = True
    else:
        draws = np.random.default_rng(seed).integers(0, num_images, (resamples, num_images))
        exact = False
    weights = np.zeros((len(draws), num_images))
    np.add.at(weights, (np.arange(len(draws))[:, None], draws), 1.0)
    return weights, exact


def permutation_swaps(num_images: int, permutations: int, seed: int):
    """(P x N of 1 where the two models' predictions swap, exact): all 2^N patterns when that
    is at most ``permutations``, else ``permutations`` random ones (each swap p = 1/2)."""
    if 2 ** num_images <= permutations:
        swaps = np.array(list(itertools.product((0, 1), repeat=num_images)), np.float64)
        return swaps, True
    rng = np.random.default_rng(seed + 1)    # not the bootstrap's stream
    return rng.integers(0, 2, (permutations, num_images)).astype(np.float64), False


def bootstrap_deltas(counts: np.ndarray, weights: np.ndarray):
    """Deltas of each resample: (B delta mIoU, B x K delta IoU) from N x 2 x 2 x K counts
    and B x N image weights."""
    flat = counts.reshape(len(counts), -1)
    parts = [deltas_for((weights[s:s + _CHUNK] @ flat).reshape(-1, *counts.shape[1:]))
             for s in range(0, len(weights), _CHUNK)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def permutation_deltas(counts: np.ndarray, swaps: np.ndarray) -> np.ndarray:
    """Delta mIoU of each swap pattern (P) from N x 2 x 2 x K counts and P x N swaps: the
    'baseline' of a pattern is the SSA-Seg counts on swapped images, and vice versa."""
    base, ssa = counts[:, 0].reshape(len(counts), -1), counts[:, 1].reshape(len(counts), -1)
    total_b, total_s, diff = base.sum(0), ssa.sum(0), ssa - base
    out = []
    for s in range(0, len(swaps), _CHUNK):
        moved = swaps[s:s + _CHUNK] @ diff               # what the swaps move from b to s
        summed = np.stack([total_b + moved, total_s - moved], axis=1)
        out.append(deltas_for(summed.reshape(-1, *counts.shape[1:]))[0])
    return np.concatenate(out)


def _interval(values: np.ndarray) -> Optional[List[float]]:
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def paired_test(counts: np.ndarray, resamples: int = DEFAULT_RESAMPLES,
                seed: int = DEFAULT_SEED) -> dict:
    """``{delta, per_class}``: ``delta`` = ``{value, ci95, p_value, resamples, permutations,
    seed, exact}`` for mIoU (percentage points) and ``per_class`` the K intervals
    ``[lo, hi]`` (None where a class has no value in any resample), from N x 2 x 2 x K
    per-image counts (:func:`stack_counts`)."""
    if resamples < 1:
        raise ValueError(f'resamples must be >= 1, got {resamples}')
    n = len(counts)
    observed, observed_classes = deltas_for(counts.sum(0))
    weights, exact_b = bootstrap_weights(n, resamples, seed)
    boot, boot_classes = bootstrap_deltas(counts, weights)
    swaps, exact_p = permutation_swaps(n, resamples, seed)
    perm = permutation_deltas(counts, swaps)
    # a tolerance for sums that differ only by rounding (identical models: all deltas 0)
    extreme = int((np.abs(perm) >= np.abs(observed) - 1e-9).sum())
    p_value = extreme / len(perm) if exact_p else (1 + extreme) / (1 + len(perm))
    value = None if not np.isfinite(observed) else round(float(observed), 4)
    return dict(
        delta=dict(value=value, ci95=_interval(boot), p_value=round(float(p_value), 6),
                   resamples=int(len(weights)), permutations=int(len(swaps)), seed=int(seed),
                   exact=bool(exact_b and exact_p)),
        observed_classes=observed_classes,
        per_class=[_interval(boot_classes[:, c]) for c in range(counts.shape[-1])])


def paired_summary(images: Sequence[ImageCounts], resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> dict:
    """The ``summary.json`` fields: ``delta_miou``, ``delta_mbiou`` and, per class,
    ``delta_iou_ci95`` / ``delta_biou_ci95`` (a list in class order)."""
    iou = paired_test(stack_counts(images, 'iou'), resamples, seed)
    biou = paired_test(stack_counts(images, 'biou'), resamples, seed)
    return dict(delta_miou=iou['delta'], delta_mbiou=biou['delta'],
                per_class=[dict(delta_iou_ci95=a, delta_biou_ci95=b)
                           for a, b in zip(iou['per_class'], biou['per_class'])])
