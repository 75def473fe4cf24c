"""Band and interior (analysis.breakdown): Boundary IoU's ground-truth band counted by hand on
an 8 x 8 label, the four error categories per region and class, the summary numbers, and the
drill-down from a confusion change to its images."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.breakdown import (
    add_confusion_images,
    attach_drilldown,
    breakdown_summary,
    confusion_images,
    drilldown_choice,
    image_breakdown,
)
from analysis.dataset.boundary import band_width, class_bands
from analysis.dataset.compare import DatasetTotals, summarize

IGN = 255


def label_8x8():
    """Class 0 in columns 0-3, class 1 in columns 4-7 with a 2 x 2 block of class 2 at rows
    3-4, columns 5-6; pixel (0, 0) ignored. d = max(1, round(0.02 * 11.3)) = 1.

    Bands by hand (erosion by one 3 x 3 step, the border and ignored pixels count as "not
    the class"): class 0 keeps rows 1-6 x columns 1-2 (12 pixels) minus (1, 1), which
    touches the ignored pixel: interior 11, band 31 - 11 = 20. Class 1 (28 pixels) keeps
    only rows 1 and 6 x columns 5-6 (rows 2 and 5 touch the block, column 4 touches class
    0, column 7 the border): interior 4, band 24. Class 2: all 4 pixels band.
    Band 48, interior 15, 63 labelled pixels."""
    label = np.zeros((8, 8), np.uint8)
    label[:, 4:] = 1
    label[3:5, 5:7] = 2
    label[0, 0] = IGN
    return label


def predictions(label):
    """Baseline wrong on column 3 (class 0, band: 8 pixels) and at (6, 6) (class 1, interior);
    SSA-Seg wrong on the class-2 block (band: 4), at (3, 1) (class 0, interior) and at (6, 6)."""
    base = label.astype(np.int64)
    base[:, 3] = 1
    base[6, 6] = 0
    ssa = label.astype(np.int64)
    ssa[3:5, 5:7] = 1
    ssa[3, 1] = 1
    ssa[6, 6] = 0
    return base, ssa


def test_band_counted_by_hand_on_an_8x8_label():
    label = label_8x8()
    assert band_width(label.shape) == 1
    band = class_bands(label, 1)
    valid = label != IGN
    per_class = [(int((band & valid & (label == c)).sum()),
                  int((~band & valid & (label == c)).sum())) for c in range(3)]
    assert per_class == [(20, 11), (24, 4), (4, 0)]
    interior = np.argwhere(~band & valid).tolist()
    assert [1, 1] not in interior and [1, 2] in interior and [1, 5] in interior
    assert [2, 5] not in interior and [6, 6] in interior


def test_four_categories_per_region_and_class_by_hand():
    label = label_8x8()
    base, ssa = predictions(label)
    counts = image_breakdown(label, base, ssa, class_bands(label, 1), 3, IGN)
    assert counts.shape == (2, 4, 3)
    # band: (both right, only SSA-Seg, only baseline, both wrong) per class
    assert counts[0].T.tolist() == [[12, 8, 0, 0], [24, 0, 0, 0], [0, 0, 4, 0]]
    assert counts[1].T.tolist() == [[10, 0, 1, 0], [3, 0, 0, 1], [0, 0, 0, 0]]
    summary = breakdown_summary(counts, ['a', 'b', 'c'])
    assert summary['band'] == dict(both_right=36, only_ssa=8, only_baseline=4, both_wrong=0,
                                   labelled=48)
    assert summary['interior'] == dict(both_right=13, only_ssa=0, only_baseline=1,
                                       both_wrong=1, labelled=15)
    assert summary['fixed_ratio'] == dict(band=2.0, interior=0.0)
    assert summary['fixed_in_band'] == 1.0
    assert summary['classes'][2]['band']['only_baseline'] == 4
    with pytest.raises(ValueError, match='differ in size'):
        image_breakdown(label, base, ssa, np.zeros((4, 4), bool), 3)


def test_no_fixes_and_no_losses_give_no_ratio():
    counts = np.zeros((2, 4, 2), np.int64)
    counts[:, 0] = 5                                   # both right everywhere
    summary = breakdown_summary(counts, ['a', 'b'])
    assert summary['fixed_ratio'] == dict(band=None, interior=None)
    assert summary['fixed_in_band'] is None


def test_summary_json_gains_the_breakdown_the_intervals_and_the_drilldown():
    label = label_8x8()
    base, ssa = predictions(label)
    totals = DatasetTotals(3)
    totals.add_image(0, 'a.png', 'a.png', label, dict(baseline=base, ssa=ssa))
    # image b: the baseline calls 10 class-0 pixels class 1, SSA-Seg 2 of them
    label_b = np.zeros((8, 8), np.uint8)
    label_b[:, 4:] = 1
    base_b, ssa_b = label_b.astype(np.int64), label_b.astype(np.int64)
    base_b[:5, :2] = 1
    ssa_b[:2, 0] = 1
    totals.add_image(1, 'b.png', 'b.png', label_b, dict(baseline=base_b, ssa=ssa_b))
    s = summarize(totals, ['a', 'b', 'c'], resamples=2000)
    add_confusion_images(s, totals.images, ['a', 'b', 'c'])
    # the breakdown sums both images' labelled pixels
    assert s['error_breakdown']['band']['labelled'] + s['error_breakdown']['interior'][
        'labelled'] == 63 + 64
    # 2 images: all 4 resamples and 4 swap patterns enumerated
    assert s['delta_miou']['exact'] is True and s['delta_miou']['resamples'] == 4
    assert set(s['classes'][0]) >= {'delta_iou_ci95', 'delta_biou_ci95'}
    # a -> b (true a, predicted b): baseline 8 + 10, SSA-Seg 1 (pixel (3, 1)) + 2: change -15
    top = s['confusion_changes'][0]
    assert (top['true'], top['pred'], top['change']) == ('a', 'b', -15)
    assert top['images'] == [dict(name='b.png', index=1, baseline=10, ssa=2),
                             dict(name='a.png', index=0, baseline=8, ssa=1)]
    # c -> b got worse (0 -> 4): only image a, where it happened
    worse = next(c for c in s['confusion_changes'] if c['true'] == 'c')
    assert worse['images'] == [dict(name='a.png', index=0, baseline=0, ssa=4)]
    # the gallery kinds of the drill-down, and the written files attached back
    chosen = drilldown_choice(s['confusion_changes'], totals.images)
    assert [r.name for r in chosen['confusion01']] == ['b.png', 'a.png']
    attach_drilldown(s['confusion_changes'], [dict(kind='confusion01', rank=2, file='f.png',
                                                   image='i.png', label='l.png')])
    assert top['images'][1]['file'] == 'f.png' and 'file' not in top['images'][0]


def test_confusion_images_keep_the_largest_moves_in_the_total_direction():
    totals = DatasetTotals(2)
    label = np.zeros((4, 4), np.uint8)
    for i, wrong in enumerate([(3, 1), (5, 0), (2, 2), (4, 6)]):   # (baseline, SSA-Seg)
        base, ssa = label.astype(np.int64), label.astype(np.int64)
        base.reshape(-1)[:wrong[0]] = 1
        ssa.reshape(-1)[:wrong[1]] = 1
        totals.add_image(i, f'{i}.png', f'{i}.png', label, dict(baseline=base, ssa=ssa))
    change = dict(true='x', pred='y', change=-5)      # 14 -> 9 in total
    got = confusion_images(change, totals.images, ['x', 'y'], top=5)
    # moves -5 (image 1), -2 (image 0); image 2 did not move, image 3 moved the other way
    assert [(g['name'], g['baseline'], g['ssa']) for g in got] == [('1.png', 5, 0),
                                                                   ('0.png', 3, 1)]
    assert confusion_images(dict(change, change=5), totals.images, ['x', 'y'])[0]['name'] \
        == '3.png'
    assert len(confusion_images(change, totals.images, ['x', 'y'], top=1)) == 1
