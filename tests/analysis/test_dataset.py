"""The data-set comparison (``python -m analysis dataset``): numbers counted by hand on tiny
masks, the boundary band against its definition, the error-map colours, the report files,
and the two launch modes (one process, two gloo processes under torchrun) giving the same
numbers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.colour import BOTH_WRONG, ONLY_BASELINE_RIGHT, ONLY_SSA_RIGHT
from analysis.dataset.boundary import band_width, boundary_band, boundary_counts, class_bands
from analysis.dataset.compare import DatasetTotals, gallery_choice, shard_blocks, summarize
from analysis.dataset.gallery import gallery_panels

REPO = Path(__file__).resolve().parent.parent.parent
IGN = 255


def two_images():
    """Image 1: GT class 0 in columns 0-3, class 1 in 4-7; the prediction moves the edge one
    column right. Image 2: all class 1 with a 2 x 2 ignored block (rows/cols 3-4), where the
    prediction says class 0 (ignored: counts for nothing)."""
    label1 = np.zeros((8, 8), np.uint8)
    label1[:, 4:] = 1
    pred1 = np.zeros((8, 8), np.int64)
    pred1[:, 5:] = 1
    label2 = np.ones((8, 8), np.uint8)
    label2[3:5, 3:5] = IGN
    pred2 = np.ones((8, 8), np.int64)
    pred2[3:5, 3:5] = 0
    return (label1, pred1), (label2, pred2)


def test_band_width_is_two_percent_of_the_diagonal():
    assert band_width((8, 8)) == 1                 # 0.23 rounds to 0: at least one pixel
    assert band_width((256, 256)) == 7             # 0.02 * 362.04 = 7.24
    assert band_width((512, 683)) == 17            # 0.02 * 853.6 = 17.07


def test_iou_and_boundary_iou_counted_by_hand():
    (label1, pred1), (label2, pred2) = two_images()
    totals = DatasetTotals(2)
    # the SSA-Seg model gets image 1 right; the baseline is the shifted prediction
    totals.add_image(0, 'a.png', 'a.png', label1, dict(baseline=pred1, ssa=label1.astype(int)))
    totals.add_image(1, 'b.png', 'b.png', label2, dict(baseline=pred2, ssa=pred2))

    # IoU, summed over both images. Class 0: image 1 has 32 common pixels of a 40-pixel
    # union (columns 0-4); image 2 has no valid class-0 pixel. Class 1: image 1 24 of 32
    # (columns 4-7 vs 5-7), image 2 60 of 60 (64 minus the 4 ignored).
    s = summarize(totals, ['zero', 'one'])
    base = {c['name']: c for c in s['classes']}
    assert base['zero']['iou_baseline'] == pytest.approx(100 * 32 / 40)
    assert base['one']['iou_baseline'] == pytest.approx(100 * 84 / 92)
    assert s['miou_baseline'] == pytest.approx(100 * (32 / 40 + 84 / 92) / 2, abs=1e-4)
    assert base['zero']['pixels'] == 32 and base['one']['pixels'] == 92   # GT, ignore excluded

    # Boundary IoU, d = 1 (chessboard), the image border is contour.
    # Image 1. GT band of 0: columns 0 and 3, rows 0 and 7 of columns 1-2 -> 16 + 4 = 20.
    # Predicted band of 0 (columns 0-4): columns 0 and 4, rows 0 and 7 of 1-3 -> 16 + 6 = 22.
    # Common: column 0 (8), rows 0/7 of columns 1-2 (4), rows 0/7 of column 3 (2) = 14;
    # union 20 + 22 - 14 = 28.
    # GT band of 1 (columns 4-7): columns 4 and 7 + rows 0/7 of 5-6 = 20; predicted band of
    # 1 (columns 5-7): columns 5 and 7 + rows 0/7 of 6 = 18; common: column 7 (8), rows 0/7
    # of columns 5 and 6 (4) = 12; union 20 + 18 - 12 = 26.
    # Image 2. Class 1 band: the border ring (28) + the ring around the ignored block
    # (rows/cols 2-5 minus the block: 12) = 40 in both maps -> 40 / 40. The predicted
    # class-0 block lies on ignored pixels: left out.
    assert base['zero']['biou_baseline'] == pytest.approx(100 * 14 / 28)
    assert base['one']['biou_baseline'] == pytest.approx(100 * (12 + 40) / (26 + 40))
    assert s['mbiou_baseline'] == pytest.approx(100 * (14 / 28 + 52 / 66) / 2, abs=1e-4)
    # SSA-Seg is exact on image 1 and equals the baseline on image 2
    assert base['zero']['iou_ssa'] == 100 and base['one']['biou_ssa'] == 100

    # per image: mean over the classes present (class 0 is absent from image 2)
    assert [i['miou_baseline'] for i in s['images']] == [pytest.approx(100 * (0.8 + 0.75) / 2),
                                                         100.0]
    assert [i['miou_ssa'] for i in s['images']] == [100.0, 100.0]
    # the confusion difference: the 8 pixels of column 4 (one taken for zero) are gone
    assert s['confusion_changes'] == [dict(true='one', pred='zero', baseline=8, ssa=0,
                                           change=-8)]


def test_boundary_counts_by_hand_single_image():
    (label1, pred1), _ = two_images()
    counts = boundary_counts(pred1, label1, 2)
    assert counts.tolist() == [[14, 12], [28, 26]]


def test_all_class_bands_equal_the_per_mask_definition():
    rng = np.random.default_rng(0)
    for trial in range(20):
        shape = tuple(rng.integers(5, 40, size=2))
        label = rng.integers(0, 4, size=shape).astype(np.uint8)
        label = np.kron(label, np.ones((2, 3), np.uint8))         # blobs, not only noise
        label[rng.random(label.shape) < 0.03] = IGN
        d = int(rng.integers(1, 5))
        bands = class_bands(label, d)
        for c in np.unique(label):
            expected = boundary_band(label == c, d)
            assert np.array_equal(bands & (label == c), expected), (trial, c, d)


def test_boundary_band_on_a_square():
    mask = np.zeros((9, 9), bool)
    mask[2:7, 2:7] = True                                   # 5 x 5 square
    band = boundary_band(mask, 1)
    assert band.sum() == 25 - 9                             # the outer ring of the square
    assert boundary_band(mask, 2).sum() == 25 - 1           # all but the centre


def test_iou_matches_mmsegmentation_iou_metric():
    import torch
    from mmseg.evaluation import IoUMetric

    rng = np.random.default_rng(1)
    totals = DatasetTotals(5)
    areas = torch.zeros(4, 5, dtype=torch.float64)
    for i in range(4):
        label = rng.integers(0, 5, size=(20, 30)).astype(np.uint8)
        label[rng.random(label.shape) < 0.1] = IGN
        pred = np.where(rng.random(label.shape) < 0.7, label % 5, rng.integers(0, 5, label.shape))
        pred[label == IGN] = rng.integers(0, 5)
        totals.add_image(i, f'{i}', f'{i}', label, dict(baseline=pred, ssa=pred))
        areas += torch.stack([a.double() for a in IoUMetric.intersect_and_union(
            torch.from_numpy(pred), torch.from_numpy(label.astype(np.int64)), 5, IGN)])
    expected = (areas[0] / areas[1]).numpy() * 100
    got = [c['iou_baseline'] for c in summarize(totals, list('abcde'))['classes']]
    assert np.allclose(got, expected, atol=1e-4)


def test_error_map_colours():
    """The gallery's error panel is the app's error map: a constructed case, by hand."""
    image = np.full((2, 3, 3), 200, np.uint8)
    label = np.array([[0, 1, 2], [IGN, 0, 1]])
    baseline = np.array([[0, 0, 0], [1, 0, 1]])
    ssa = np.array([[0, 1, 1], [0, 1, 1]])
    out = gallery_panels(image, label, baseline, ssa, [[0, 0, 0]] * 5, 5)[-1]
    grey = [40 + round(0.45 * 200)] * 3                    # both right: the dimmed image
    unlabelled = [(40 + round(0.45 * 200)) // 2] * 3       # unlabelled: darker grey
    expected = [[grey, ONLY_SSA_RIGHT, BOTH_WRONG],
                [unlabelled, ONLY_BASELINE_RIGHT, grey]]
    assert np.array_equal(out, np.array(expected, np.uint8))
    assert len({ONLY_SSA_RIGHT, ONLY_BASELINE_RIGHT, BOTH_WRONG, tuple(grey)}) == 4


def test_shards_cover_every_image_once_in_whole_blocks():
    blocks = [shard_blocks(10, 4, r, 2) for r in range(2)]
    assert blocks == [[[0, 1, 2, 3], [8, 9]], [[4, 5, 6, 7]]]
    assert sorted(i for part in blocks for b in part for i in b) == list(range(10))


def test_gallery_takes_gains_and_losses_without_repeats():
    totals = DatasetTotals(2)
    label = np.zeros((4, 4), np.uint8)
    label[:, 2:] = 1
    for i, cut in enumerate([0, 1, 2, 3, 4]):
        pred = np.zeros((4, 4), np.int64)
        pred[:, cut:] = 1
        totals.add_image(i, f'{i}', f'{i}', label, dict(baseline=pred, ssa=label))
    chosen = gallery_choice(totals.images, 3)
    assert [r.index for r in chosen['gain']] == [0, 4, 1]       # largest gains first
    assert [r.index for r in chosen['loss']] == [2, 3]          # the rest, worst first


# --------------------------------------------------------------------------- end to end

def _dataset(folder: Path) -> Path:
    from ssa_seg.synthscenes import generate
    generate(folder, seed=0, num_train=0, num_val=10, size=96)
    return folder


def _run(args, env=None, torchrun: int = 0):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO), **(env or {}))
    command = [sys.executable, '-m', 'analysis', 'dataset', *args]
    if torchrun:
        command = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                   f'--nproc_per_node={torchrun}', '-m', 'analysis', 'dataset', *args,
                   '--launcher', 'pytorch']
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_report_and_launch_modes_agree(tmp_path):
    data = _dataset(tmp_path / 'data')
    common = ['--data-root', str(data), '--batch-size', '4', '--gallery', '2', '--no-progress']
    _run(common + ['--out', str(tmp_path / 'one')])
    _run(common + ['--out', str(tmp_path / 'two'), '--no-pdf'], torchrun=2)
    one = json.loads((tmp_path / 'one' / 'summary.json').read_text())
    two = json.loads((tmp_path / 'two' / 'summary.json').read_text())
    for summary in (one, two):
        summary.pop('seconds')
    assert one == two                                   # exactly, every number
    assert one['num_images'] == 10 and len(one['images']) == 10
    assert [g['kind'] for g in one['gallery']] == ['gain', 'gain', 'loss', 'loss']
    for name in ('per_class.csv', 'confusion_difference.csv', 'per_class_delta.png',
                 'confusion_difference.png', 'gallery.pdf', one['gallery'][0]['file'],
                 one['gallery'][0]['image'], one['gallery'][0]['label']):
        assert (tmp_path / 'one' / name).is_file(), name
    assert not (tmp_path / 'two' / 'gallery.pdf').exists()
    # the numbers equal mmsegmentation's evaluation of each model (python -m ssa_seg.test)
    from ssa_seg.evaluation import evaluate
    from ssa_seg.zoo import load_zoo
    pair = load_zoo().pair()
    for role, spec in (('baseline', pair.baseline), ('ssa', pair.ssa)):
        results = evaluate(spec.init(), data_root=str(data))
        assert one[f'miou_{role}'] == pytest.approx(results['mIoU'], abs=1e-3)
