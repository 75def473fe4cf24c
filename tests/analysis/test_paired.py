"""Paired statistics of SSA-Seg against the baseline (analysis.paired): identical models give
delta 0, interval [0, 0] and p 1; small cases are enumerated by a second, plain-Python
implementation (every N^N resample, every 2^N swap) and by hand."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.paired import (
    ImageCounts,
    bootstrap_weights,
    paired_summary,
    paired_test,
    permutation_swaps,
    stack_counts,
)


def counts_from(pairs):
    """N x 2 x 2 x K counts from [[(inter, union) per class] baseline, [...] ssa] per image."""
    return np.array([[np.array(model, float).T for model in image] for image in pairs])


def miou_by_hand(images, model):
    """Data-set mIoU (percent) of ``model`` (0 baseline, 1 SSA-Seg) over a list of images
    given as [[(inter, union) per class] per model]: sums, then the mean over classes whose
    union is > 0."""
    k = len(images[0][model])
    inter = [sum(img[model][c][0] for img in images) for c in range(k)]
    union = [sum(img[model][c][1] for img in images) for c in range(k)]
    ious = [i / u for i, u in zip(inter, union) if u > 0]
    return 100.0 * sum(ious) / len(ious) if ious else float('nan')


def delta_by_hand(images):
    return miou_by_hand(images, 1) - miou_by_hand(images, 0)


def random_images(rng, n, k, same=False):
    images = []
    for _ in range(n):
        models = []
        for _m in range(2):
            union = rng.integers(0, 40, k)
            union[rng.random(k) < 0.2] = 0          # some classes absent from some images
            inter = (union * rng.random(k)).astype(int)
            models.append(list(zip(inter.tolist(), union.tolist())))
        if same:
            models[1] = models[0]
        images.append(models)
    return images


def test_identical_models_give_zero_delta_interval_and_p_one():
    rng = np.random.default_rng(3)
    for n in (3, 40):                               # exact (27 resamples) and drawn
        images = random_images(rng, n, 4, same=True)
        result = paired_test(counts_from(images), resamples=2000, seed=0)
        delta = result['delta']
        assert delta['value'] == 0.0 and delta['ci95'] == [0.0, 0.0]
        assert delta['p_value'] == 1.0
        assert delta['exact'] == (n == 3)
        assert all(ci in (None, [0.0, 0.0]) for ci in result['per_class'])


def test_two_images_by_hand():
    # One class. Image 1: baseline 0 of 2 right, SSA-Seg 2 of 2; image 2: both 2 of 2.
    # Observed: 2/4 -> 4/4, delta +50. The 4 ordered resamples give deltas
    # (1,1): 0/4 -> 4/4 = 100, (1,2) and (2,1): 50, (2,2): 0; sorted [0, 50, 50, 100]:
    # numpy's 2.5th percentile 0 + 0.075 * 50 = 3.75, 97.5th 50 + 0.925 * 50 = 96.25.
    # Swaps: image 1 swapped gives -50, image 2 swapped changes nothing: all 4 patterns
    # have |delta| = 50 >= 50, p = 4/4.
    images = [[[(0, 2)], [(2, 2)]], [[(2, 2)], [(2, 2)]]]
    delta = paired_test(counts_from(images), resamples=2000)['delta']
    assert delta['value'] == pytest.approx(50.0)
    assert delta['ci95'] == pytest.approx([3.75, 96.25])
    assert delta['p_value'] == 1.0 and delta['exact'] is True
    assert delta['resamples'] == 4 and delta['permutations'] == 4


def test_exact_enumeration_matches_a_plain_implementation():
    rng = np.random.default_rng(11)
    n, k = 4, 3                                     # 4^4 = 256 resamples, 2^4 = 16 swaps
    images = random_images(rng, n, k)
    images[0][1] = [(u, u) for _, u in images[0][0]]           # a clear gain on image 0
    boot = [delta_by_hand([images[i] for i in draw])
            for draw in itertools.product(range(n), repeat=n)]
    observed = delta_by_hand(images)
    perm = []
    for swap in itertools.product((0, 1), repeat=n):
        swapped = [[img[1], img[0]] if s else img for img, s in zip(images, swap)]
        perm.append(delta_by_hand(swapped))
    p_exact = sum(abs(d) >= abs(observed) - 1e-9 for d in perm) / 2 ** n

    result = paired_test(counts_from(images), resamples=2000)
    delta = result['delta']
    assert delta['exact'] is True and delta['resamples'] == 256 and delta['permutations'] == 16
    assert delta['value'] == pytest.approx(observed, abs=1e-4)
    boot = [d for d in boot if np.isfinite(d)]      # resamples where a model has no class
    assert delta['ci95'] == pytest.approx(list(np.percentile(boot, [2.5, 97.5])), abs=1e-4)
    assert delta['p_value'] == pytest.approx(p_exact)
    assert p_exact < 1.0


def test_drawn_resamples_follow_the_formula_and_the_seed():
    rng = np.random.default_rng(5)
    images = random_images(rng, 30, 4)
    for img in images[:20]:                          # SSA-Seg better on two thirds
        img[1] = [(min(u, i + 5), u) for i, u in img[0]]
    counts = counts_from(images)
    a = paired_test(counts, resamples=2000, seed=7)['delta']
    b = paired_test(counts, resamples=2000, seed=7)['delta']
    c = paired_test(counts, resamples=2000, seed=8)['delta']
    assert a == b and a['ci95'] != c['ci95']
    assert a['resamples'] == 2000 and a['permutations'] == 2000 and a['exact'] is False
    assert a['value'] == pytest.approx(delta_by_hand(images), abs=1e-4)
    assert a['ci95'][0] < a['value'] < a['ci95'][1]
    # p = (1 + #extreme) / (1 + P): a multiple of 1/2001, at least 1/2001
    assert a['p_value'] * 2001 == pytest.approx(round(a['p_value'] * 2001), abs=1e-3)
    assert 1 / 2001 - 1e-9 <= a['p_value'] < 0.05


def test_weights_and_swaps_enumerate_or_draw():
    weights, exact = bootstrap_weights(3, 2000, 0)
    assert exact and weights.shape == (27, 3) and (weights.sum(1) == 3).all()
    assert sorted(map(tuple, weights.astype(int).tolist()))[0] == (0, 0, 3)
    weights, exact = bootstrap_weights(6, 2000, 0)            # 6^6 = 46656 > 2000: drawn
    assert not exact and weights.shape == (2000, 6) and (weights.sum(1) == 6).all()
    swaps, exact = permutation_swaps(11, 2000, 0)             # 2^11 = 2048 > 2000
    assert not exact and swaps.shape == (2000, 11) and 0.45 < swaps.mean() < 0.55
    swaps, exact = permutation_swaps(10, 2000, 0)
    assert exact and swaps.shape == (1024, 10) and len({tuple(s) for s in swaps}) == 1024


def test_image_counts_from_confusion_matrices():
    base = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])        # rows: ground truth
    ssa = np.array([[6, 0, 0], [0, 4, 1], [0, 0, 0]])
    boundary = {'baseline': np.array([[1, 2, 0], [3, 4, 0]]),
                'ssa': np.array([[2, 2, 0], [3, 4, 0]])}
    counts = ImageCounts.of(dict(baseline=base, ssa=ssa), boundary)
    # class 0: baseline 5 of 5 + 1 + 2 = 8, class 1: 3 of 2 + 3 + 1 = 6, class 2: nothing
    assert counts.iou['baseline'].tolist() == [[5, 3, 0], [8, 6, 0]]
    assert counts.iou['ssa'].tolist() == [[6, 4, 0], [6, 5, 1]]
    assert counts.pair_count('baseline', 1 * 3 + 0) == 2     # true 1 predicted 0
    assert counts.pair_count('ssa', 1 * 3 + 2) == 1
    assert counts.pair_count('ssa', 1 * 3 + 0) == 0
    stacked = stack_counts([counts, counts], 'biou')
    assert stacked.shape == (2, 2, 2, 3) and stacked[1, 1, 0].tolist() == [2, 2, 0]
    summary = paired_summary([counts, counts], resamples=100)
    # class 2 has no union anywhere: no interval; the others are the same in every resample
    assert summary['per_class'][2] == dict(delta_iou_ci95=None, delta_biou_ci95=None)
    assert summary['delta_miou']['ci95'][0] == pytest.approx(summary['delta_miou']['value'])
    with pytest.raises(ValueError, match='no images'):
        stack_counts([])
    with pytest.raises(ValueError, match='resamples'):
        paired_test(stacked, resamples=0)
