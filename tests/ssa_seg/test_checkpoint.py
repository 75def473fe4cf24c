"""``load_weights`` on reference-style checkpoints: what it ignores, what it refuses."""
import re

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from tiny_models import NUM_CLASSES, tiny_model_cfg

import ssa_seg  # noqa: F401  (registers the *_ssa heads)
from ssa_seg.checkpoint import CheckpointError, load_weights

EMPTY_WEIGHT = 'ssa_loss.criterion.empty_weight'


def build(head, ssa=True, seed=0):
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    return MODELS.build(ConfigDict(tiny_model_cfg(head, ssa)))


def save_reference_style(model, path, extra=None):
    """mmseg 0.x layout: DataParallel prefix, CLASSES / PALETTE meta, extra entries."""
    state = {'module.' + k: v.clone() for k, v in model.state_dict().items()}
    state.update({'module.' + k: v for k, v in (extra or {}).items()})
    torch.save({'state_dict': state,
                'meta': {'CLASSES': list('abcde'), 'PALETTE': [[1, 2, 3]] * NUM_CLASSES}}, path)


@pytest.mark.parametrize('head,prefix', [('SegformerHead', 'decode_head.'),
                                         ('OCRHead', 'decode_head.1.')])
def test_training_only_loss_buffer_is_ignored_and_named(tmp_path, head, prefix):
    source = build(head, seed=1)
    key = prefix + EMPTY_WEIGHT
    assert key not in source.state_dict()
    path = tmp_path / 'ref.pth'
    save_reference_style(source, path, {key: torch.ones(NUM_CLASSES + 1)})
    target = build(head, seed=2)
    meta = load_weights(target, path)
    assert meta['ignored_keys'] == [key]
    assert meta['CLASSES'] == list('abcde')
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


@pytest.mark.parametrize('extra', ['decode_head.empty_weight', 'backbone.extra.weight',
                                   EMPTY_WEIGHT, 'decode_head.center_pos_extra.weight'])
def test_any_other_unexpected_key_is_refused(tmp_path, extra):
    model = build('SegformerHead')
    path = tmp_path / 'ref.pth'
    save_reference_style(model, path, {'decode_head.' + EMPTY_WEIGHT: torch.ones(6),
                                       extra: torch.ones(3)})
    with pytest.raises(CheckpointError, match=r'unexpected keys \(1\): ' + re.escape(extra)):
        load_weights(model, path)


def test_vanilla_head_checkpoint_into_ssa_model_says_so(tmp_path):
    path = tmp_path / 'vanilla.pth'
    save_reference_style(build('SegformerHead', ssa=False), path)
    with pytest.raises(CheckpointError, match=r'vanilla-head \(baseline\) checkpoint'):
        load_weights(build('SegformerHead'), path)
    # The OCR cascade's SSA stage sits at decode_head.1.
    save_reference_style(build('OCRHead', ssa=False), path)
    with pytest.raises(CheckpointError, match=r'vanilla-head \(baseline\) checkpoint') as err:
        load_weights(build('OCRHead'), path)
    assert 'decode_head.1.center_pos.weight' in str(err.value)
    # A checkpoint that lacks other keys too is not called a baseline checkpoint.
    model = build('SegformerHead', ssa=False)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('backbone.layers.0')}
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointError) as err:
        load_weights(build('SegformerHead'), path)
    assert 'vanilla-head' not in str(err.value)
