"""The Segment tab's library functions: the error map, hatching of near-identical palette
colours, the class filter and the error breakdown (analysis.colour, analysis.stats)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis import colour, stats
from ssa_seg.classifier import IGNORE_INDEX

DEMO_PALETTE = [[6, 230, 230], [120, 120, 120], [80, 50, 50], [140, 140, 140],
                [120, 120, 80], [4, 200, 3], [230, 230, 230], [8, 255, 51], [150, 5, 61],
                [0, 102, 200]]


def constructed_case():
    """One row of six pixels, one of each situation, written out by hand."""
    label = np.array([[1, 1, 2, 2, 3, IGNORE_INDEX]], np.uint8)
    base = np.array([[1, 1, 0, 2, 0, 0]], np.uint8)      # right, right, wrong, right, wrong
    ssa = np.array([[1, 0, 2, 0, 0, 0]], np.uint8)       # right, wrong, right, wrong, wrong
    image = np.full((1, 6, 3), 100, np.uint8)
    return image, base, ssa, label


def test_error_map_colours_each_case():
    image, base, ssa, label = constructed_case()
    out = colour.error_map(image, base, ssa, label)
    grey = 40 + round(0.45 * 100)                         # both right: the dimmed image
    assert out[0, 0].tolist() == [grey] * 3
    assert tuple(out[0, 1]) == colour.ONLY_BASELINE_RIGHT
    assert tuple(out[0, 2]) == colour.ONLY_SSA_RIGHT
    assert tuple(out[0, 3]) == colour.ONLY_BASELINE_RIGHT
    assert tuple(out[0, 4]) == colour.BOTH_WRONG
    assert out[0, 5].tolist() == [grey // 2] * 3          # unlabelled: darker grey
    assert len({colour.ONLY_SSA_RIGHT, colour.ONLY_BASELINE_RIGHT, colour.BOTH_WRONG}) == 3
    with pytest.raises(ValueError, match='sizes differ'):
        colour.error_map(image, base, ssa, label[:, :3])


def test_error_breakdown_counts_labelled_pixels():
    _, base, ssa, label = constructed_case()
    shares = stats.error_breakdown(base, ssa, label)
    assert shares['labelled_pixels'] == 5
    assert shares['both_right'] == pytest.approx(1 / 5)
    assert shares['only_ssa_right'] == pytest.approx(1 / 5)
    assert shares['only_baseline_right'] == pytest.approx(2 / 5)
    assert shares['both_wrong'] == pytest.approx(1 / 5)
    empty = stats.error_breakdown(base, ssa, np.full_like(label, IGNORE_INDEX))
    assert empty['labelled_pixels'] == 0 and empty['both_right'] is None


def test_near_identical_palette_colours_are_hatched():
    # wall (120,120,120) vs road (140,140,140): 34.6 apart; ceiling (120,120,80) 40 from wall
    assert colour.colour_distance(DEMO_PALETTE[1], DEMO_PALETTE[3]) == pytest.approx(34.64, 1e-3)
    assert colour.similar_colour_classes(DEMO_PALETTE, 10) == [3, 4]
    entries = colour.legend_entries([str(i) for i in range(10)], DEMO_PALETTE, [1, 3, 5])
    assert [e['hatched'] for e in entries] == [False, True, False]
    image = np.zeros((12, 12, 3), np.uint8)
    mask = np.full((12, 12), 3, np.uint8)
    plain = colour.overlay(image, mask, DEMO_PALETTE, 1.0, 10)
    hatched = colour.overlay(image, mask, DEMO_PALETTE, 1.0, 10, hatched=[3])
    lines = colour.hatch_pattern((12, 12))
    assert np.array_equal(plain[~lines], hatched[~lines])
    assert (hatched[lines] == round(140 * colour.HATCH_DARKEN)).all()
    assert np.array_equal(colour.overlay(image, mask, DEMO_PALETTE, 1.0, 10, hatched=[1]), plain)


def test_class_filter_keeps_one_class():
    mask = np.array([[0, 1, 2], [2, 1, IGNORE_INDEX]], np.uint8)
    kept = colour.keep_classes(mask, [1])
    assert kept.tolist() == [[255, 1, 255], [255, 1, 255]]
    assert colour.keep_classes(mask, None) is mask
    image = np.full((2, 3, 3), 7, np.uint8)
    out = colour.overlay(image, kept, DEMO_PALETTE, 1.0, 10)
    assert out[0, 0].tolist() == [7, 7, 7] and out[0, 1].tolist() == DEMO_PALETTE[1]
