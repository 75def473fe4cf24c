"""The ADE20K example configs build and train one step (forward and backward) on a random batch."""
import pytest
import torch
from batches import random_batch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from ssa_seg.classifier import LOSS_WEIGHTS
from ssa_seg.zoo import REPO_ROOT

ADE = REPO_ROOT / 'ssa_seg' / 'configs' / 'ade20k'


@pytest.mark.slow
@pytest.mark.parametrize('name,ssa', [('segformer_mit-b0_512x512_160k_ade20k.py', False),
                                      ('segformer_mit-b0_ssa_512x512_160k_ade20k.py', True)])
def test_ade20k_config_forward_backward(name, ssa):
    init_default_scope('mmseg')
    cfg = Config.fromfile(ADE / name)
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.model.decode_head.type == ('SegformerHead_ssa' if ssa else 'SegformerHead')
    torch.manual_seed(0)
    # SyncBN needs a process group; on one CPU process it is plain BN.
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    losses = model(**random_batch(model, (512, 512), ignore=(slice(None), slice(0, 16))),
                   mode='loss')
    expected = {'decode.' + k for k in LOSS_WEIGHTS} if ssa else {'decode.loss_ce'}
    assert expected <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    head_grad = model.decode_head.conv_seg.weight.grad
    assert head_grad is not None and head_grad.abs().sum() > 0
    assert model.backbone.layers[0][0].projection.weight.grad.abs().sum() > 0


CONFIG_ROOT = REPO_ROOT / 'ssa_seg' / 'configs'
# Partial configs (model or data/schedule settings that full configs include) live beside
# the full ones in some families; they are recognised by what they lack.
PARTIAL_CONFIGS = ('seaformer/ade20k_512x512_160k_4x4.py', 'seaformer/seaformer_base.py',
                   'seaformer/seaformer_large.py')
PROJECT_CONFIGS = sorted(
    p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIG_ROOT.rglob('*.py')
    if '_base_' not in p.parts and p.relative_to(CONFIG_ROOT).as_posix() not in PARTIAL_CONFIGS)


def test_partial_configs_are_exactly_those_without_a_model_or_data():
    for name in PARTIAL_CONFIGS:
        cfg = Config.fromfile(CONFIG_ROOT / name)
        assert 'model' not in cfg or 'train_dataloader' not in cfg, name


@pytest.mark.slow
@pytest.mark.parametrize('name', PROJECT_CONFIGS)
def test_every_project_config_builds_its_model(name):
    """Each full config (the _base_ chain merged) builds."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG_ROOT / name)
    assert 'model' in cfg and 'train_dataloader' in cfg, name
    assert cfg.model.data_preprocessor.type == 'SegDataPreProcessor'
    model = MODELS.build(cfg.model)
    heads = cfg.model.decode_head
    last = heads[-1] if isinstance(heads, list) else heads
    # SSA-Seg configs (``ssa`` in the name) put the SSA classifier in the (last) decode head.
    assert last.type.endswith('_ssa') == ('ssa' in name.rsplit('/', 1)[-1][:-3].split('_'))
    assert model.data_preprocessor is not None
