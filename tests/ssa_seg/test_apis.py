"""The inference contract of ssa_seg.apis: channel order, lists, where the pipeline comes from."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from tiny_models import tiny_config

from ssa_seg.apis import inference_model, init_model


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return init_model(tiny_config('SegformerHead'))


def _image():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    image[:, :, 0] = 250            # strongly red: swapping channels must change the input
    return image


def test_rgb_and_bgr_arrays_and_files_agree(model, tmp_path):
    rgb = _image()
    path = tmp_path / 'x.png'
    Image.fromarray(rgb).save(path)
    from_rgb = inference_model(model, rgb).seg_logits.data
    from_bgr = inference_model(model, np.ascontiguousarray(rgb[..., ::-1]),
                               channel_order='bgr').seg_logits.data
    from_file = inference_model(model, str(path)).seg_logits.data
    assert torch.equal(from_rgb, from_bgr) and torch.equal(from_rgb, from_file)
    # the order matters: the same array read as BGR is another image
    misread = inference_model(model, rgb, channel_order='bgr').seg_logits.data
    assert not torch.allclose(misread, from_rgb)
    with pytest.raises(ValueError, match="channel_order must be one of"):
        inference_model(model, rgb, channel_order='rbg')


def test_a_list_of_images_gives_a_list_of_results(model):
    images = [_image(), np.zeros((40, 40, 3), np.uint8)]
    results = inference_model(model, images)
    assert isinstance(results, list) and len(results) == 2
    for image, result in zip(images, results):
        single = inference_model(model, image)
        assert torch.equal(result.pred_sem_seg.data, single.pred_sem_seg.data)
        assert tuple(result.pred_sem_seg.data.shape[-2:]) == image.shape[:2]


def test_a_top_level_test_pipeline_is_accepted_and_a_missing_one_named():
    cfg = Config(tiny_config('SegformerHead'))
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.pop('test_dataloader')
    cfg.test_pipeline = pipeline
    torch.manual_seed(0)
    top_level = init_model(cfg)
    torch.manual_seed(0)
    reference = init_model(tiny_config('SegformerHead'))
    image = _image()
    assert torch.equal(inference_model(top_level, image).seg_logits.data,
                       inference_model(reference, image).seg_logits.data)
    cfg.pop('test_pipeline')
    bare = init_model(cfg)
    with pytest.raises(ValueError, match='add test_pipeline'):
        inference_model(bare, image)
