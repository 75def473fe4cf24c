"""``test_cfg=dict(mode='slide', ...)`` is honoured by ``ssa_seg.apis.inference_model``
(reference configs for PASCAL-Context and several COCO-Stuff models use a sliding window)."""
import numpy as np
import torch
from tiny_models import tiny_config

from ssa_seg.apis import inference_model, init_model, prepare_inputs

SLIDE = dict(mode='slide', crop_size=(32, 32), stride=(24, 24))


def _models(ssa: bool):
    torch.manual_seed(0)
    slide_cfg = tiny_config('SegformerHead', ssa=ssa)
    slide_cfg['model']['test_cfg'] = dict(SLIDE)
    slide = init_model(slide_cfg)
    whole = init_model(tiny_config('SegformerHead', ssa=ssa))
    whole.load_state_dict(slide.state_dict())
    return slide, whole


def test_slide_mode_is_used_by_inference_model():
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for ssa in (True, False):
        slide, whole = _models(ssa)
        assert slide.test_cfg.mode == 'slide'
        result = inference_model(slide, image)
        # the same image through the sliding window directly: 3 x 3 crops of 32 px, stride 24
        # (64 x 64 after the test pipeline, so no padding to crop and no resize)
        inputs, sample = prepare_inputs(slide, image)
        with torch.no_grad():
            direct = slide.slide_inference(inputs, [dict(sample.metainfo)])[0]
            whole_logits = whole.whole_inference(inputs, [dict(sample.metainfo)])[0]
        assert result.seg_logits.data.shape == direct.shape == (5, 64, 64)
        torch.testing.assert_close(result.seg_logits.data, direct, rtol=0, atol=1e-6)
        assert torch.equal(result.pred_sem_seg.data[0], direct.argmax(0))
        # and it is not whole-image inference under another name
        assert (direct - whole_logits).abs().max() > 1e-3
        torch.testing.assert_close(inference_model(whole, image).seg_logits.data, whole_logits,
                                   rtol=0, atol=1e-6)
