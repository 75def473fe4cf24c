"""The pixel inspector (analysis.inspect), checked against an independent computation:
full-size ``F.interpolate`` maps, ``inference_model``'s ``seg_logits`` and numpy softmaxes."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from app_inputs import BASELINE_CONFIG, REPO, SSA_CONFIG
from inspect_reference import check_json, independent
from tiny_models import tiny_config

from analysis import inspect
from analysis.io import load_image, load_label
from analysis.stats import segment_pair
from ssa_seg.apis import extract_head_features, inference_model, init_model

IMAGE = REPO / 'app/examples/images/synthscenes_val_00001.png'
LABEL = REPO / 'app/examples/labels/synthscenes_val_00001.png'


@pytest.mark.parametrize('src,dst', [((7, 9), (32, 41)), ((32, 32), (256, 256)),
                                     ((20, 13), (20, 13)), ((40, 30), (17, 11))])
def test_bilinear_at_equals_interpolate_of_the_whole_map(src, dst):
    torch.manual_seed(0)
    t = torch.randn(3, *src, dtype=torch.float64)
    full = F.interpolate(t[None], size=dst, mode='bilinear', align_corners=False)[0]
    for y in range(dst[0]):
        for x in range(dst[1]):
            assert torch.allclose(inspect.bilinear_at(t, dst, y, x), full[:, y, x],
                                  atol=1e-12), (y, x)


def test_top_table_is_the_softmax_top5_of_every_pixel():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=4, size=(12, 70, 9)).astype(np.float32)   # 70 rows: 2 blocks
    table = inspect.TopTable.from_logits(torch.from_numpy(logits))
    e = np.exp(logits.astype(np.float64) - logits.max(0))
    probs = e / e.sum(0)
    order = np.argsort(-probs, axis=0, kind='stable')[:5].transpose(1, 2, 0)
    assert table.probs.shape == (70, 9, 5) and table.classes.dtype == np.int16
    np.testing.assert_array_equal(table.classes, order)
    np.testing.assert_allclose(table.probs, np.take_along_axis(
        probs.transpose(1, 2, 0), order, axis=2), atol=1e-6)
    assert inspect.TopTable.from_logits(torch.zeros(3, 2, 2)).probs.shape == (2, 2, 3)


def _probs(*pairs):
    return tuple(inspect.ClassProb(i, name, p) for i, (name, p) in enumerate(pairs))


def test_the_sentence_reads_the_numbers():
    base = inspect.ModelPixel('b', (inspect.ClassProb(0, 'wall', 0.61),))
    ssa = inspect.ModelPixel(
        's', (inspect.ClassProb(3, 'door', 0.834),),
        coarse_top=(inspect.ClassProb(0, 'wall', 0.54),),
        classes=(inspect.ClassCosines(3, 'door', 0.12, 0.41),
                 inspect.ClassCosines(0, 'wall', 0.3, 0.2)))
    assert inspect.explain(base, ssa, 'door') == (
        'Baseline: wall 61%; SSA-Seg: door 83%; the coarse mask also said wall (54%); the '
        'adapted door centre is closer to this pixel than the fixed prototype (0.41 vs '
        '0.12); its lead over the next class is +0.21 with the adapted centres, -0.18 with '
        'the fixed prototypes. Ground truth: door.')
    agree = inspect.ModelPixel('b', (inspect.ClassProb(3, 'door', 0.004),))
    farther = inspect.ModelPixel('s', ssa.top, coarse_top=(inspect.ClassProb(3, 'door', 0.5),),
                                 classes=(inspect.ClassCosines(3, 'door', 0.5, 0.25),))
    assert inspect.explain(agree, farther) == (
        'Both models say door (baseline <1%, SSA-Seg 83%); the coarse mask said door (50%); '
        'the adapted door centre is no closer to this pixel than the fixed prototype (0.25 '
        'vs 0.50).')


@pytest.mark.parametrize('y,x,match', [(-1, 0, 'outside the 4 x 6'), (0, 6, 'outside'),
                                       (1.5, 2, 'two integers'), ('a', 2, 'two integers'),
                                       (None, 2, 'two integers')])
def test_bad_pixels_are_refused_with_the_reason(y, x, match):
    with pytest.raises(ValueError, match=match):
        inspect.check_pixel(y, x, (4, 6))
    assert inspect.check_pixel(3, 5, (4, 6)) == (3, 5)
    assert inspect.check_pixel(np.int64(2), 3.0, (4, 6)) == (2, 3)


@pytest.fixture(scope='module')
def demo_pair():
    base = init_model(str(BASELINE_CONFIG), str(REPO / 'checkpoints/synthscenes_baseline.pth'))
    ssa = init_model(str(SSA_CONFIG), str(REPO / 'checkpoints/synthscenes_ssa.pth'))
    return base, ssa


@pytest.mark.slow
def test_pixels_of_the_demo_pair_agree_with_inference_model(demo_pair):
    base, ssa = demo_pair
    image = load_image(str(IMAGE))
    names = list(base.dataset_meta['classes'])
    label = load_label(str(LABEL), image.size, len(names))
    seg = segment_pair(base, ssa, image, keep_internals=True)
    assert seg.ssa.head_features is not None          # whole-image inference: one capture
    inspection = inspect.inspection_of(seg, ssa, image, names, ('b', 's'), label)
    ref = independent(base, ssa, image.work)
    differ = np.argwhere(seg.baseline.work_mask != seg.ssa.work_mask)
    pixels = [(0, 0), (255, 255), (0, 255), (131, 77), tuple(differ[0]), tuple(differ[-1])]
    for y, x in pixels:
        report = inspect.pixel(inspection, int(y), int(x))
        check_json(report.to_json(), ref, int(y), int(x), names)
        assert report.baseline.top[0].class_index == seg.baseline.work_mask[y, x]
        assert report.ssa.top[0].class_index == seg.ssa.work_mask[y, x]
        assert report.gt == (None if label[y, x] == 255 else names[label[y, x]])
    y, x = (int(v) for v in differ[0])
    data = inspect.pixel(inspection, y, x).to_json()
    assert data['pixel'] == [y, x] and data['image_size'] == [256, 256]
    assert data['baseline']['top'][0]['class'] != data['ssa']['top'][0]['class']
    assert set(data['ssa']) == {'name', 'top', 'coarse_top', 'classes'}
    # kept per image: top-5 tables and feature-resolution tensors, not K x H x W maps
    assert inspection.nbytes < 2 * 256 * 256 * 5 * 6 + 2_000_000


def slide_config():
    cfg = tiny_config('SegformerHead', ssa=True)
    cfg['model']['test_cfg'] = dict(mode='slide', crop_size=(48, 48), stride=(32, 32))
    return cfg


@pytest.mark.slow
def test_slide_inference_takes_the_whole_image_feature_and_vanilla_pairs_have_no_coarse():
    torch.manual_seed(0)
    slide = init_model(slide_config())
    torch.manual_seed(1)
    vanilla = init_model(tiny_config('SegformerHead', ssa=False))
    rgb = np.random.default_rng(0).integers(0, 255, (80, 100, 3), dtype=np.uint8)
    image = load_image(rgb)
    seg = segment_pair(vanilla, slide, image, keep_internals=True)
    assert seg.ssa.head_features is None              # several windows: no single feature
    names = [f'c{i}' for i in range(5)]
    inspection = inspect.inspection_of(seg, slide, image, names, ('v', 's'))
    whole, _ = extract_head_features(slide, rgb)
    assert torch.equal(inspection.internals.feat, whole[0])
    report = inspect.pixel(inspection, 79, 99)
    soft = torch.softmax(inference_model(slide, rgb).seg_logits.data.double(), 0)[:, 79, 99]
    assert abs(report.ssa.top[0].prob - float(soft.max())) <= 1e-4
    swapped = copy.copy(seg)
    swapped.baseline, swapped.ssa = seg.ssa, seg.baseline
    plain = inspect.inspection_of(swapped, vanilla, image, names, ('s', 'v'))
    assert plain.internals is None
    side = inspect.pixel(plain, 5, 5).ssa
    assert side.coarse_top is None and 'coarse_top' not in side.to_json()
    with pytest.raises(ValueError, match='keep_internals'):
        inspect.inspection_of(segment_pair(vanilla, slide, image), slide, image, names, 'vs')
