"""Where is the gain? Errors in the boundary band against the interior, and the images behind
each confusion change.

**Band and interior** (:func:`image_breakdown`): each labelled pixel is in the *band* when it
lies in Boundary IoU's ground-truth boundary of its own class (Cheng et al. 2021,
``mask_to_boundary``: the class's binary mask, padded by one pixel of zeros, eroded with a
3 x 3 kernel ``d = max(1, round(0.02 * image diagonal))`` times; band = mask and not eroded),
else in the *interior*. That is :func:`analysis.dataset.boundary.class_bands`, the band the boundary
IoU counts use (ignored pixels are "not the class" there, so they are contour). Each pixel
then falls in one of four categories by which model is right (the error map's,
:func:`analysis.colour.error_categories`): both right, only SSA-Seg, only the baseline, both
wrong. Counts are kept per ground-truth class, so they sum exactly over images.

**Drill-down** (:func:`confusion_images`): for a (true, predicted) pair whose count changed,
the images where it changed most in the direction of the total change.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

from .colour import error_categories

REGIONS = ('band', 'interior')
CATEGORIES = ('both_right', 'only_ssa', 'only_baseline', 'both_wrong')
DRILL_IMAGES = 5


def image_breakdown(label: np.ndarray, baseline: np.ndarray, ssa: np.ndarray,
                    band: np.ndarray, num_classes: int,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """2 (band, interior) x 4 (CATEGORIES) x K pixel counts, int64, of one image.

    label, baseline, ssa: H x W class maps; band: H x W bool, the ground-truth band of each
    pixel's own class (:func:`analysis.dataset.boundary.class_bands` of ``label``). Pixels whose
    label is ``ignore_index`` (or not a class) are left out."""
    label = np.asarray(label)
    if np.asarray(band).shape != label.shape:
        raise ValueError(f'band {np.asarray(band).shape} and label {label.shape} differ in size')
    categories = error_categories(np.asarray(baseline), np.asarray(ssa), label, ignore_index)
    keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
    region = np.where(np.asarray(band, bool), 0, 1)
    code = (region[keep] * 4 + categories[keep].astype(np.int64)) * num_classes + \
        label[keep].astype(np.int64)
    counts = np.bincount(code, minlength=2 * 4 * num_classes)
    return counts.reshape(2, 4, num_classes).astype(np.int64)


def _counts_dict(counts: np.ndarray) -> Dict[str, int]:
    """4 category counts -> {category: count, labelled: total}."""
    out = {name: int(v) for name, v in zip(CATEGORIES, counts)}
    out['labelled'] = int(sum(out.values()))
    return out


def breakdown_summary(total: np.ndarray, classes: Sequence[str]) -> dict:
    """``error_breakdown`` of ``summary.json`` from the 2 x 4 x K counts summed over images:
    ``{band: {...}, interior: {...}, classes: [{name, band: {...}, interior: {...}}],
    fixed_in_band, fixed_ratio}``; each ``{...}`` holds the four category counts and
    ``labelled``. ``fixed_ratio[region]`` = only_ssa / only_baseline (pixels SSA-Seg turns
    right per pixel it turns wrong; None when it turns none wrong); ``fixed_in_band`` = the
    band's share of all only-SSA-Seg pixels."""
    total = np.asarray(total, np.int64)
    summary = {region: _counts_dict(total[r].sum(-1)) for r, region in enumerate(REGIONS)}
    fixed = {region: summary[region]['only_ssa'] for region in REGIONS}
    all_fixed = sum(fixed.values())
    summary['fixed_ratio'] = {
        region: (round(fixed[region] / summary[region]['only_baseline'], 4)
                 if summary[region]['only_baseline'] else None) for region in REGIONS}
    summary['fixed_in_band'] = round(fixed['band'] / all_fixed, 4) if all_fixed else None
    summary['classes'] = [dict(name=str(name), **{region: _counts_dict(total[r, :, c])
                                                  for r, region in enumerate(REGIONS)})
                          for c, name in enumerate(classes)]
    return summary


def sum_breakdowns(images: Sequence[Optional[np.ndarray]], num_classes: int) -> np.ndarray:
    """The per-image 2 x 4 x K counts summed (images without counts are skipped)."""
    total = np.zeros((2, 4, num_classes), np.int64)
    for counts in images:
        if counts is not None:
            total += counts
    return total


def confusion_images(change: dict, records: Sequence, classes: Sequence[str],
                     top: int = DRILL_IMAGES) -> List[dict]:
    """The ``top`` images where the (``change['true']``, ``change['pred']``) pixel count moved
    most in the direction of ``change['change']`` (the data-set total): for a confusion
    SSA-Seg makes less, the images where it makes it least relative to the baseline.

    records: objects with ``name``, ``index`` and ``counts`` (an
    :class:`analysis.paired.ImageCounts`). Returns ``[{name, index, baseline, ssa}]``
    (pixel counts of that pair in the image), largest move first, ties by data-set order;
    images where the pair did not move that way are left out."""
    k = len(classes)
    flat = list(classes).index(change['true']) * k + list(classes).index(change['pred'])
    sign = 1 if change['change'] > 0 else -1
    rows = []
    for record in records:
        if record.counts is None:
            continue
        base = record.counts.pair_count('baseline', flat)
        ssa = record.counts.pair_count('ssa', flat)
        if sign * (ssa - base) > 0:
            rows.append((-sign * (ssa - base), record.index,
                         dict(name=record.name, index=int(record.index), baseline=base, ssa=ssa)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows[:top]]


def add_confusion_images(summary: dict, records: Sequence, classes: Sequence[str],
                         top: int = DRILL_IMAGES) -> None:
    """Give each entry of ``summary['confusion_changes']`` its ``images``
    (:func:`confusion_images`); records without counts give none."""
    for change in summary['confusion_changes']:
        change['images'] = confusion_images(change, records, classes, top)


def drilldown_choice(changes: Sequence[dict], records: Sequence) -> Dict[str, list]:
    """The drill-down images of each confusion change as gallery choices: kind
    ``confusion<NN>`` (NN = the change's rank, from 01) -> its image records, in order."""
    by_index = {r.index: r for r in records}
    return {drill_kind(i): [by_index[e['index']] for e in change.get('images') or []]
            for i, change in enumerate(changes)}


def drill_kind(position: int) -> str:
    """The gallery kind of the ``position``-th (0-based) confusion change's images."""
    return f'confusion{position + 1:02d}'


def attach_drilldown(changes: Sequence[dict], entries: Sequence[dict]) -> None:
    """Give each drill-down image of ``changes`` the files written for it (``file``,
    ``image``, ``label``: report-relative paths from
    :func:`analysis.dataset.report.write_gallery`)."""
    files = {(e['kind'], e['rank']): e for e in entries}
    for i, change in enumerate(changes):
        for rank, image in enumerate(change.get('images') or [], start=1):
            written = files.get((drill_kind(i), rank))
            if written:
                image.update(file=written['file'], image=written['image'],
                             label=written['label'])
