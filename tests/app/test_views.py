"""analysis.io, analysis.colour, analysis.stats and app.views: every function behind the
app's Segment tab, called directly."""
from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pytest
from app_inputs import NUM_CLASSES, build_tiny_models, scene, write_inputs
from PIL import Image

from analysis import colour, stats
from analysis import io as image_io
from analysis.io import ImageLoadError, LabelError
from app import views

CLASSES = [f'c{i}' for i in range(NUM_CLASSES)]
PALETTE = [[10 * i, 255 - 10 * i, (37 * i) % 256] for i in range(NUM_CLASSES)]


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp('inputs'))


@pytest.fixture(scope='module')
def models():
    return build_tiny_models(seed=0)


# --------------------------------------------------------------------------- images

def test_rgb_png_loads_unchanged(inputs):
    image = image_io.load_image(inputs['rgb'])
    assert image.rgb.dtype == np.uint8 and image.rgb.shape == (64, 96, 3)
    assert np.array_equal(image.rgb, scene(64, 96))
    assert image.work is image.rgb or np.array_equal(image.work, image.rgb)
    assert not image.resized and image.notes == [] and image.source_mode == 'RGB'


def test_rgba_is_composited_over_white(inputs):
    image = image_io.load_image(inputs['rgba'])
    rgb = scene(64, 96)
    assert image.rgb.shape == (64, 96, 3)
    assert (image.rgb[:, :48] == 255).all()              # fully transparent -> white
    assert np.array_equal(image.rgb[:, 48:], rgb[:, 48:])  # opaque -> unchanged
    assert any('transparent' in note for note in image.notes)


def test_grey_and_palette_become_rgb(inputs):
    grey = image_io.load_image(inputs['gray'])
    assert grey.rgb.shape == (64, 96, 3)
    assert np.array_equal(grey.rgb[..., 0], scene(64, 96)[..., 0])
    assert np.array_equal(grey.rgb[..., 0], grey.rgb[..., 2])
    palette = image_io.load_image(inputs['palette'])
    expected = np.asarray(Image.open(inputs['palette']).convert('RGB'))
    assert palette.source_mode == 'P' and np.array_equal(palette.rgb, expected)


def test_16_bit_png_keeps_its_full_range(inputs):
    image = image_io.load_image(inputs['gray16'])
    levels = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(np.uint16)
    expected = np.clip(np.rint(levels / 257.0), 0, 255).astype(np.uint8)
    assert np.array_equal(image.rgb[..., 1], expected)
    assert image.rgb.max() > 200           # not clipped to 255 everywhere, not all dark


def test_exif_orientation_is_applied(inputs):
    image = image_io.load_image(inputs['exif'])
    # orientation 6: the stored 96 x 64 picture is displayed rotated 90 degrees clockwise
    assert image.size == (96, 64)
    stored = np.asarray(Image.open(inputs['exif']).convert('RGB')).astype(int)
    displayed = np.rot90(stored, k=-1)
    assert np.abs(image.rgb.astype(int) - displayed).mean() < 1.0
    assert any('EXIF' in note for note in image.notes)


def test_large_image_is_processed_at_the_stated_size(inputs):
    image = image_io.load_image(inputs['large'])
    assert image.size == (1500, 2400)
    assert max(image.work_size) == image_io.MAX_PROCESSING_SIDE == 1024
    assert image.work_size == (640, 1024)
    assert image.resized and any('1024' in note for note in image.notes)


@pytest.mark.parametrize('name, words', [
    ('bomb', 'decompression bomb'),
    ('bomb_limit', 'megapixels'),
    ('not_image', 'not a readable image'),
    ('truncated', 'truncated'),
    ('empty', 'empty'),
])
def test_unusable_files_raise_a_clear_error(inputs, name, words):
    with pytest.raises(ImageLoadError) as err:
        image_io.load_image(inputs[name])
    assert words in str(err.value)
    assert inputs[name].name in str(err.value)


def test_missing_file_and_bad_arrays(tmp_path):
    with pytest.raises(ImageLoadError, match='not found'):
        image_io.load_image(tmp_path / 'nope.png')
    with pytest.raises(ImageLoadError, match='empty'):
        image_io.load_image(b'')
    with pytest.raises(ImageLoadError, match='shape'):
        image_io.load_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ImageLoadError, match='too small'):
        image_io.load_image(np.zeros((4, 100, 3), np.uint8))


def test_formats_that_run_code_are_refused(tmp_path):
    eps = tmp_path / 'x.eps'
    eps.write_bytes(b'%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n')
    with pytest.raises(ImageLoadError, match='not a readable image'):
        image_io.load_image(eps)


def test_other_sources_bytes_pil_and_arrays(inputs):
    raw = inputs['rgb'].read_bytes()
    from_bytes = image_io.load_image(raw)
    from_pil = image_io.load_image(Image.open(io.BytesIO(raw)))
    assert np.array_equal(from_bytes.rgb, from_pil.rgb)
    grey16 = image_io.load_image((np.arange(100 * 100).reshape(100, 100) * 6).astype(np.uint16))
    assert grey16.rgb.shape == (100, 100, 3) and grey16.rgb.max() == round(9999 * 6 / 257)
    floats = image_io.load_image(np.full((20, 20, 3), 0.5, np.float32))
    assert (floats.rgb == 128).all()


def test_fit_longest_side_and_nearest_upsampling():
    assert image_io.fit_longest_side((2000, 3000), 1024) == (683, 1024)
    assert image_io.fit_longest_side((500, 300), 1024) == (500, 300)
    mask = np.array([[0, 1], [2, 3]], np.uint8)
    up = image_io.upsample_nearest(mask, (4, 6))
    assert up.shape == (4, 6)
    assert np.array_equal(up, np.kron(mask, np.ones((2, 3), np.uint8)))
    odd = np.arange(7 * 5, dtype=np.uint8).reshape(7, 5)
    reference = np.asarray(Image.fromarray(odd).resize((13, 17), Image.NEAREST))
    assert np.array_equal(image_io.upsample_nearest(odd, (17, 13)), reference)


# --------------------------------------------------------------------------- labels

def test_label_loads_and_validates(inputs):
    label = image_io.load_label(inputs['label'], (64, 96), NUM_CLASSES)
    assert label.shape == (64, 96) and label.dtype == np.uint8
    assert set(np.unique(label)) == {0, 3, 255}


def test_label_of_the_wrong_size_is_refused(inputs):
    with pytest.raises(LabelError, match=r'96 x 32 but the image is 96 x 64'):
        image_io.load_label(inputs['label_wrong_size'], (64, 96), NUM_CLASSES)


def test_label_with_unknown_classes_is_refused(inputs):
    with pytest.raises(LabelError, match='42'):
        image_io.load_label(inputs['label_bad_values'], (64, 96), NUM_CLASSES)


def test_label_not_an_image_and_jpeg_label(inputs):
    with pytest.raises(LabelError, match='not a readable'):
        image_io.load_label(inputs['not_image'], (64, 96), NUM_CLASSES)
    with pytest.raises(LabelError):
        image_io.load_label(inputs['exif'], (96, 64), NUM_CLASSES)   # lossy JPEG: refused


def test_colour_label_maps_through_the_palette(tmp_path):
    indices = np.array([[0, 1, 2], [3, 3, 9]])
    colours = np.asarray(PALETTE, np.uint8)[indices]
    Image.fromarray(colours).save(tmp_path / 'colour.png')
    label = image_io.load_label(tmp_path / 'colour.png', (2, 3), NUM_CLASSES, palette=PALETTE)
    assert np.array_equal(label, indices)
    colours[0, 0] = (1, 2, 3)
    Image.fromarray(colours).save(tmp_path / 'odd.png')
    with pytest.raises(LabelError, match='#010203'):
        image_io.load_label(tmp_path / 'odd.png', (2, 3), NUM_CLASSES, palette=PALETTE)
    with pytest.raises(LabelError, match='colour image'):
        image_io.load_label(tmp_path / 'odd.png', (2, 3), NUM_CLASSES)


def test_label_from_array():
    good = image_io.load_label(np.array([[0, 255], [9, 1]], np.uint8), (2, 2), NUM_CLASSES)
    assert good.tolist() == [[0, 255], [9, 1]]
    with pytest.raises(LabelError, match='10'):
        image_io.load_label(np.array([[0, 10]]), (1, 2), NUM_CLASSES)


# --------------------------------------------------------------------------- pictures

def test_overlay_blends_with_opacity():
    image = np.full((2, 3, 3), 100, np.uint8)
    mask = np.array([[0, 1, 2], [2, 255, 0]], np.uint8)
    colours = np.asarray(PALETTE, np.uint8)
    assert np.array_equal(colour.overlay(image, mask, PALETTE, 0.0, NUM_CLASSES), image)
    full = colour.overlay(image, mask, PALETTE, 1.0, NUM_CLASSES)
    assert np.array_equal(full[0, 1], colours[1]) and np.array_equal(full[1, 0], colours[2])
    assert np.array_equal(full[1, 1], image[1, 1])             # ignore index: plain image
    half = colour.overlay(image, mask, PALETTE, 0.5, NUM_CLASSES)
    assert np.array_equal(half[0, 0], np.rint((100 + colours[0].astype(float)) / 2))
    assert np.array_equal(colour.overlay(image, mask, PALETTE, 7.0, NUM_CLASSES), full)
    with pytest.raises(ValueError, match='differ in size'):
        colour.overlay(image, mask[:1], PALETTE, 0.5, NUM_CLASSES)


def test_palette_fallback_is_deterministic_and_complete():
    table = colour.palette_array(PALETTE[:3], NUM_CLASSES)
    assert table.shape == (256, 3)
    assert np.array_equal(table[:3], np.asarray(PALETTE[:3]))
    assert len({tuple(c) for c in table[:NUM_CLASSES]}) == NUM_CLASSES
    assert np.array_equal(table, colour.palette_array(PALETTE[:3], NUM_CLASSES))
    assert (table[255] == 0).all()


def test_legend_entries_and_html_escaping():
    entries = colour.legend_entries(['sky', '<b>wall</b>', 'floor'], PALETTE[:3], present=[2, 1])
    assert [e['index'] for e in entries] == [1, 2]
    assert entries[0]['color'] == '#{:02x}{:02x}{:02x}'.format(*PALETTE[1])
    html = views.legend_html(entries)
    assert '&lt;b&gt;wall&lt;/b&gt;' in html and '<b>' not in html and 'floor' in html
    assert len(colour.legend_entries(CLASSES, PALETTE)) == NUM_CLASSES
    assert 'no classes' in views.legend_html([])


def test_disagreement_map():
    a = np.array([[0, 1], [2, 3]])
    b = np.array([[0, 2], [2, 0]])
    assert colour.disagreement_mask(a, b).tolist() == [[False, True], [False, True]]
    image = np.full((2, 2, 3), 200, np.uint8)
    picture = colour.disagreement_image(image, a, b)
    assert picture.shape == (2, 2, 3) and picture.dtype == np.uint8
    assert tuple(picture[0, 1]) == colour.DISAGREEMENT_COLOR
    assert tuple(picture[0, 0]) != colour.DISAGREEMENT_COLOR
    with pytest.raises(ValueError):
        colour.disagreement_mask(a, b[:1])


def test_mask_png_round_trip():
    mask = np.array([[0, 1, 9], [255, 3, 3]], np.uint8)
    img = Image.open(io.BytesIO(colour.mask_to_png_bytes(mask, PALETTE, NUM_CLASSES)))
    assert img.mode == 'P' and np.array_equal(np.asarray(img), mask)
    assert img.getpalette()[3:6] == PALETTE[1]


# --------------------------------------------------------------------------- statistics

def test_pixel_share():
    mask = np.array([[0, 0, 1, 255]])
    share = stats.pixel_share(mask, 3)
    assert np.allclose(share, [2 / 3, 1 / 3, 0])
    assert math.isclose(share.sum(), 1.0)
    assert stats.pixel_share(np.full((2, 2), 255), 3).sum() == 0


def test_per_class_iou_and_miou_by_hand():
    label = np.array([[0, 0, 1, 1],
                      [0, 0, 1, 255]])
    pred = np.array([[0, 1, 1, 1],
                     [0, 0, 3, 2]])      # the pixel under 255 is not counted
    iou = stats.per_class_iou(pred, label, 5)
    # class 0: tp 3, gt 4, pred 3 -> 3/4; class 1: tp 2, gt 3, pred 3 -> 2/4;
    # class 2: only under the ignored pixel -> absent from both -> NaN;
    # class 3: predicted once, not in gt -> 0; class 4: absent from both -> NaN
    assert iou[0] == pytest.approx(0.75) and iou[1] == pytest.approx(0.5)
    assert math.isnan(iou[2]) and iou[3] == 0.0 and math.isnan(iou[4])
    assert stats.mean_iou(iou) == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert stats.mean_iou(np.array([np.nan, np.nan])) is None
    matrix = stats.confusion(pred, label, 5)
    assert matrix.sum() == 7 and matrix[1, 3] == 1


def test_perfect_prediction_scores_one():
    label = np.array([[0, 1], [2, 2]])
    iou = stats.per_class_iou(label, label, 4)
    assert stats.mean_iou(iou) == 1.0 and math.isnan(iou[3])


# --------------------------------------------------------------------------- with models

def test_segment_pair_masks_times_and_determinism(models, inputs):
    baseline, ssa = models
    image = image_io.load_image(inputs['rgb'])
    first = stats.segment_pair(baseline, ssa, image)
    second = stats.segment_pair(baseline, ssa, image)
    for role, seg in first:
        assert seg.mask.shape == (64, 96) and seg.mask.dtype == np.uint8
        assert seg.mask.max() < NUM_CLASSES and seg.seconds > 0
        assert np.array_equal(seg.mask, getattr(second, role).mask)


def test_large_image_masks_come_back_at_the_image_size(models, inputs):
    baseline, ssa = models
    image = image_io.load_image(inputs['large'])
    pair = stats.segment_pair(baseline, ssa, image)
    assert pair.baseline.work_mask.shape == (640, 1024)
    assert pair.baseline.mask.shape == (1500, 2400) == pair.ssa.mask.shape
    assert np.array_equal(pair.ssa.mask,
                          image_io.upsample_nearest(pair.ssa.work_mask, (1500, 2400)))


def test_statistics_are_json_and_consistent(models, inputs):
    baseline, ssa = models
    image = image_io.load_image(inputs['rgb'])
    label = image_io.load_label(inputs['label'], image.size, NUM_CLASSES)
    pair = stats.segment_pair(baseline, ssa, image)
    classes = list(baseline.dataset_meta['classes'])
    numbers = stats.comparison_statistics(image, pair, classes, label, pair_name='tiny',
                                          model_names=dict(baseline='b', ssa='s'))
    json.dumps(numbers, allow_nan=False)
    assert numbers['pair'] == 'tiny' and numbers['image']['width'] == 96
    for role, seg in pair:
        entry = numbers['models'][role]
        assert sum(entry['pixel_share'].values()) == pytest.approx(1.0, abs=1e-5)
        expected = stats.per_class_iou(seg.mask, label, NUM_CLASSES)
        for k, name in enumerate(classes):
            got = numbers['evaluation'][role]['per_class_iou'][name]
            assert (got is None) if math.isnan(expected[k]) else got == pytest.approx(expected[k])
        assert numbers['evaluation'][role]['mIoU'] == pytest.approx(stats.mean_iou(expected))
    assert numbers['disagreement_fraction'] == pytest.approx(
        colour.disagreement_mask(pair.baseline.mask, pair.ssa.mask).mean(), abs=1e-6)
    assert numbers['evaluation']['ignored_pixels'] == 4 * 96
    again = stats.comparison_statistics(image, stats.segment_pair(baseline, ssa, image),
                                          classes, label, pair_name='tiny',
                                          model_names=dict(baseline='b', ssa='s'))
    for role in ('baseline', 'ssa'):
        again['models'][role]['inference_seconds'] = numbers['models'][role]['inference_seconds']
    assert again == numbers                                 # deterministic but for timings

    rows = views.share_rows(numbers)
    assert all(len(r) == 3 for r in rows) and sum(r[1] for r in rows) == pytest.approx(100, abs=0.1)
    iou = views.iou_rows(numbers)
    assert iou[-1][0] == 'mIoU'
    assert iou[-1][1] == pytest.approx(100 * numbers['evaluation']['baseline']['mIoU'], abs=0.01)
    assert 'b:' in views.timing_text(numbers) and 'ms' in views.timing_text(numbers)
    chart = views.pixel_share_html(numbers, baseline.dataset_meta['palette'])
    bars = re.findall(r'data-role="(\w+)" title="([^"]*)" style="[^"]*width:([\d.]+)%', chart)
    assert len(bars) == 2 * len(rows)
    largest = max(max(r[1], r[2]) for r in rows)
    for (name, base_pct, ssa_pct), pair_of_bars in zip(rows, zip(bars[::2], bars[1::2])):
        for (role, tip, width), pct, model, expected in zip(pair_of_bars, (base_pct, ssa_pct), 'bs',
                                                            ('baseline', 'ssa')):
            assert role == expected
            assert tip == f'{name}: {pct:.2f}% ({model})'
            assert float(width) == pytest.approx(100 * pct / largest, abs=0.01)
    assert views.pixel_share_html({'classes': [], 'models': numbers['models']}, None).count(
        'no classes') == 1
    no_label = stats.comparison_statistics(image, pair, classes)
    assert no_label['evaluation'] is None and views.iou_rows(no_label) == []


def test_pair_classes_must_match():
    stats.check_pair_classes({'classes': ('a', 'b')}, {'classes': ['a', 'b']})
    with pytest.raises(ValueError, match='share their classes'):
        stats.check_pair_classes({'classes': ('a', 'b')}, {'classes': ('a',)})


def test_inspection_store_waits_for_builds_and_keeps_its_byte_bound():
    """Items may arrive as futures: ``get`` waits for them; a failed build is dropped; the
    built items' bytes stay under the bound (the newest one always stays)."""
    import threading
    from concurrent.futures import Future
    from types import SimpleNamespace

    from app.state import InspectionStore

    store = InspectionStore(max_bytes=250)
    item = SimpleNamespace(nbytes=100)
    slow = Future()
    store.put_building('a', slow)
    assert store.building == 1 and store.nbytes == 0
    threading.Timer(0.05, slow.set_result, [item]).start()
    assert store.get('a') is item and store.building == 0 and store.nbytes == 100
    failed = Future()
    store.put_building('b', failed)
    failed.set_exception(RuntimeError('model failed'))
    assert store.get('b') is None and len(store) == 1
    store.put('c', SimpleNamespace(nbytes=100))
    done = Future()
    done.set_result(SimpleNamespace(nbytes=100))
    store.put_building('d', done)                   # settles at once: 300 > 250, 'a' goes
    assert store.get('a') is None and store.nbytes == 200 and store.get('d') is not None
    store.put('huge', SimpleNamespace(nbytes=10_000))
    assert len(store) == 1 and store.get('huge').nbytes == 10_000
    assert store.get(None) is None and store.get('never') is None
