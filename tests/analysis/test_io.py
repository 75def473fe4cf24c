"""analysis.io is the one reader: the app, the CLI, the figures and extract() see the same pixels.

Before, the app's reader and extract()'s disagreed on the same input (a 16-bit PNG peaked at
239 in one and 255 in the other; uint16 300 became 1 and 44; float32 0.5 became 128 and 0).
The expected values here are computed by hand from the rule: uint16 / 257, float * 255.
"""
import inspect

import numpy as np
import pytest
from PIL import Image

from analysis import io as image_io
from analysis.io import ImageLoadError


def test_16_bit_png_is_scaled_by_257(tmp_path):
    levels = np.array([[0, 128, 129, 300], [61439, 65406, 65407, 65535]], np.uint16)
    levels = np.repeat(np.repeat(levels, 8, axis=0), 8, axis=1)      # 16 x 32: above the minimum
    path = tmp_path / 'grey16.png'
    Image.fromarray(levels).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith('I')                              # really stored as 16 bit
    rgb = image_io.load_image(path).rgb
    # round(v / 257): 128 -> 0 (0.498), 129 -> 1 (0.502), 300 -> 1 (1.167), 61439 -> 239
    # (239.06), 65406 -> 254 (254.498), 65407 -> 255 (254.502), 65535 -> 255
    expected = np.array([[0, 0, 1, 1], [239, 254, 255, 255]], np.uint8)
    assert np.array_equal(rgb[::8, ::8, 0], expected)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all()


def test_array_conversions_follow_the_one_rule():
    u16 = image_io.load_image(np.full((16, 16), 300, np.uint16)).rgb
    assert (u16 == 1).all()
    u16_peak = image_io.load_image(np.full((16, 16, 3), 61439, np.uint16)).rgb
    assert (u16_peak == 239).all()
    for dtype in (np.float16, np.float32, np.float64):
        half = image_io.load_image(np.full((16, 16, 3), 0.5, dtype)).rgb
        assert (half == 128).all(), dtype                              # rint(127.5) = 128
    ends = image_io.load_image(np.array([[0.0, 1.0] * 8] * 16, np.float32)).rgb
    assert ends[0, 0, 0] == 0 and ends[0, 1, 0] == 255
    rgba = np.zeros((16, 16, 4), np.uint16)
    rgba[..., 3] = 65535
    assert (image_io.load_image(rgba).rgb == 0).all()               # opaque black stays black


@pytest.mark.parametrize('array, words', [
    (np.full((16, 16, 3), 1.5, np.float32), 'outside [0, 1]'),
    (np.full((16, 16, 3), -0.1, np.float64), 'outside [0, 1]'),
    (np.full((16, 16, 3), np.nan, np.float32), 'outside [0, 1]'),
    (np.full((16, 16, 3), 7, np.int32), 'int32'),
    (np.full((16, 16, 3), 7, np.int64), 'int64'),
    (np.ones((16, 16, 3), bool), 'bool'),
    (np.full((16, 16, 3), 7, np.uint32), 'uint32'),
])
def test_other_inputs_are_refused_saying_what_is_accepted(array, words):
    with pytest.raises(ImageLoadError) as err:
        image_io.load_image(array)
    assert words in str(err.value)
    assert image_io.ACCEPTED_PIXELS in str(err.value)


def test_float_tiff_outside_the_unit_range_is_refused(tmp_path):
    path = tmp_path / 'f.tif'
    Image.fromarray(np.full((16, 16), 3.0, np.float32), mode='F').save(path)
    with pytest.raises(ImageLoadError, match=r'outside \[0, 1\]'):
        image_io.load_image(path)
    Image.fromarray(np.full((16, 16), 0.25, np.float32), mode='F').save(path)
    assert (image_io.load_image(path).rgb == 64).all()                # rint(63.75)


def test_extract_and_the_app_read_the_same_pixels(tmp_path):
    """extract() runs the model on exactly what analysis.io.load_image decodes."""
    from tiny_models import tiny_config

    from analysis.extract import extract
    from ssa_seg.apis import init_model

    levels = (np.arange(40 * 56, dtype=np.uint32).reshape(40, 56) * 29).astype(np.uint16)
    path = tmp_path / 'grey16.png'
    Image.fromarray(levels).save(path)
    model = init_model(tiny_config('SegformerHead'))
    from_path = extract(model, path)
    from_loaded = extract(model, image_io.load_image(path))
    assert np.array_equal(from_path.image, image_io.load_image(path).work)
    assert np.array_equal(from_path.image[..., 0], ((levels.astype(np.uint32) + 128) // 257))
    assert np.array_equal(from_path.pred_image.numpy(), from_loaded.pred_image.numpy())


def test_only_analysis_io_decodes_images():
    """No other module of the app or the analysis opens image files itself."""
    import analysis.cli
    import analysis.extract
    import analysis.stats
    import app.files
    import app.pairs
    import app.services
    import app.tabs.segment
    import app.viewer
    for module in (analysis.cli, analysis.extract, analysis.stats, app.services, app.files,
                   app.viewer, app.tabs.segment, app.pairs):
        source = inspect.getsource(module)
        assert 'Image.open(' not in source and 'imread(' not in source, module.__name__


def test_label_reader_applies_reduce_zero_label():
    raw = np.array([[0, 1, 2], [150, 255, 3]] * 4, np.uint8)
    label = image_io.load_label(raw, raw.shape, 150, reduce_zero_label=True)
    assert np.array_equal(label[:2], [[255, 0, 1], [149, 255, 2]])
    with pytest.raises(image_io.LabelError, match='150'):
        image_io.load_label(raw, raw.shape, 150)
