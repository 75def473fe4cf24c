"""CGRSeg (EfficientFormerV2 + CGRSeg / CGRSeg_ssa heads) against the reference fixtures.

The CGRSeg-B fixtures come from the original SSA-Seg code; the CGRSeg-L configs have no fixture
and are checked for the key structure the reference implies and for a training step.
"""
import re
import time

import pytest
import reference_fixtures as ref
import torch
from batches import random_batch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from ssa_seg.apis import init_model
from ssa_seg.checkpoint import training_only_keys
from ssa_seg.classifier import LOSS_WEIGHTS
from ssa_seg.zoo import REPO_ROOT

# Reference-size models (seconds each on 2 CPU cores): CI runs them with -m ''.
pytestmark = pytest.mark.slow

CONFIGS = REPO_ROOT / 'ssa_seg' / 'configs' / 'cgrseg'
FIXTURES = ['cgrseg-b_ade20k_160k', 'cgrseg-b_ade20k_160k_ssa']


def _loaded_model(name, tmp_path, seed=None):
    """Build from the project config, load the fixture checkpoint strictly, then eval()."""
    model = init_model(CONFIGS / f'{name}.py')
    ref.load_fixture_checkpoint(model, name, tmp_path, seed)
    return model


def _int_buffers(name):
    return torch.load(ref.FIXTURE_DIR / f'{name}.int_buffers.pt', weights_only=True)


@pytest.mark.parametrize('name', FIXTURES)
def test_fixture_matches(name, tmp_path):
    model = _loaded_model(name, tmp_path)
    meta = ref.fixture_meta(name)
    logits = ref.reference_logits(model, meta['seed'], tuple(meta['input_size']))
    assert logits.shape == tuple(meta['logits_shape'])
    result = ref.assert_matches_fixture(logits, name)
    print(name, result)


@pytest.mark.parametrize('name', FIXTURES)
def test_state_dict_keys_are_the_reference_keys(name):
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    own = MODELS.build(cfg.model).state_dict()
    expected = {key: (shape, dtype) for key, shape, dtype, _ in ref.fixture_keys(name)}
    # Reference-only entries are exactly the SSA training-loss buffer.
    assert set(expected) - set(own) == set(training_only_keys(set(expected) - set(own)))
    assert set(own) <= set(expected)
    for key, value in own.items():
        assert (tuple(value.shape), str(value.dtype).replace('torch.', '')) == expected[key], key
    # The index tables are the reference's, value for value.
    for key, value in _int_buffers(name).items():
        assert torch.equal(own[key], value.long()), key
    if name.endswith('_ssa'):
        assert not any('.lgc.' in k for k in own)       # no DPG stage in CGRSeg_ssa


@pytest.mark.parametrize('name', FIXTURES)
def test_non_square_input_and_other_seed(name, tmp_path):
    """224 x 288, seed 1: the bias matrices are resized to (63, 63) and (63, 252)."""
    model = _loaded_model(name, tmp_path, seed=1)
    sizes = set()
    for module in model.backbone.modules():
        if hasattr(module, 'resized_bias'):
            def spy(attn, _orig=module.resized_bias):
                bias = _orig(attn)
                sizes.add(tuple(bias.shape))
                return bias
            module.resized_bias = spy
    logits = ref.reference_logits(model, 1, (224, 288))
    assert logits.shape == (1, 150, 224, 288)
    assert torch.isfinite(logits).all()
    assert logits.std() > 0 and logits.argmax(1).unique().numel() > 1
    assert sizes == {(1, 8, 63, 63), (1, 8, 63, 252)}


def test_bias_cache_follows_loading_and_mode():
    """The eval-mode bias cache is dropped on load and on train(): load order does not matter."""
    init_default_scope('mmseg')
    backbone = MODELS.build(dict(type='efficientformerv2_s2_feat')).eval()
    fresh = MODELS.build(dict(type='efficientformerv2_s2_feat'))
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        backbone(x)                                       # fills the caches (zero tables)
        state = backbone.state_dict()
        g = torch.Generator().manual_seed(1)
        for key in state:
            if key.endswith('attention_biases_seg'):
                state[key] = torch.randn(state[key].shape, generator=g)
        backbone.load_state_dict(state)                   # after eval(), as a user might
        fresh.load_state_dict(state)
        fresh.eval()
        assert torch.equal(backbone(x)[-1], fresh(x)[-1])
        backbone.train()
        assert all(getattr(m, '_bias_cache', None) is None for m in backbone.modules())


def _template(key):
    """A key with its block indices replaced, so B and L keys can be compared."""
    key = re.sub(r'^(backbone\.network\.[0246])\.\d+\.', r'\1.#.', key)
    return re.sub(r'transformer_blocks\.\d+\.', 'transformer_blocks.#.', key)


@pytest.mark.parametrize('suffix', ['', '_ssa'])
def test_cgrseg_l_key_structure(suffix):
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIGS / f'cgrseg-l_ade20k_160k{suffix}.py')
    assert cfg.model.backbone.type == 'efficientformerv2_l_feat'
    own = MODELS.build(cfg.model).state_dict()
    # The SSA loss buffer is the one reference entry the project's heads do not have.
    b_keys = {k for k, *_ in ref.fixture_keys(f'cgrseg-b_ade20k_160k{suffix}')
              if not k.startswith('decode_head.ssa_loss.')}
    # Same modules as CGRSeg-B, only the repeat counts and widths differ.
    assert {_template(k) for k in own} == {_template(k) for k in b_keys}

    def blocks(stage):
        return {int(m.group(1)) for k in own
                for m in [re.match(rf'backbone\.network\.{stage}\.(\d+)\.', k)] if m}

    def attention_blocks(stage):
        return {int(m.group(1)) for k in own
                for m in [re.match(rf'backbone\.network\.{stage}\.(\d+)\.token_mixer', k)] if m}

    # L: depths (5, 5, 15, 10), attention in the last 6 blocks of stages 2 and 3.
    assert [len(blocks(s)) for s in (0, 2, 4, 6)] == [5, 5, 15, 10]
    assert attention_blocks(4) == set(range(9, 15)) and attention_blocks(6) == set(range(4, 10))
    assert own['backbone.patch_embed.3.weight'].shape == (40, 20, 3, 3)
    assert own['backbone.network.4.9.token_mixer.attention_biases_seg'].shape == (8, 256)
    assert own['backbone.network.5.attn.attention_biases_seg'].shape == (8, 1024)
    assert own['backbone.network.5.attn.proj.1.weight'].shape == (384, 512, 1, 1)
    assert own['backbone.network.6.9.layer_scale_1'].shape == (384, 1, 1)
    b_int = _int_buffers('cgrseg-b_ade20k_160k')
    assert torch.equal(own['backbone.network.4.14.token_mixer.attention_bias_idxs_seg'],
                       b_int['backbone.network.4.11.token_mixer.attention_bias_idxs_seg'].long())
    assert torch.equal(own['backbone.network.5.attn.attention_bias_idxs_seg'],
                       b_int['backbone.network.5.attn.attention_bias_idxs_seg'].long())
    # Head: in_channels (80, 192, 384), 5 global RCMs on 656 channels, band kernels 9.
    trans = {int(m.group(1)) for k in own
             for m in [re.match(r'decode_head\.trans\.transformer_blocks\.(\d+)\.', k)] if m}
    assert trans == set(range(5))
    assert own['decode_head.trans.transformer_blocks.0.gamma'].shape == (656,)
    assert own['decode_head.meta.2.token_mixer.excite.0.weight'].shape == (384, 1, 1, 9)
    assert own['decode_head.conv.0.weight'].shape == (80, 256, 1, 1)
    assert own['decode_head.SIM.1.fuse2.conv.weight'].shape == (256, 192, 1, 1)
    assert any('.lgc.' in k for k in own) == (suffix == '')


def _train_step(config, size=(64, 96)):
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIGS / config)
    cfg.model.data_preprocessor.size = size
    torch.manual_seed(0)
    # SyncBN needs a process group; on one CPU process it is plain BN.
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model.train()
    losses = model(**random_batch(model, size), mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    return model, losses


@pytest.mark.parametrize('config', ['cgrseg-b_ade20k_160k.py', 'cgrseg-b_ade20k_160k_ssa.py',
                                    'cgrseg-l_ade20k_160k.py', 'cgrseg-l_ade20k_160k_ssa.py'])
def test_training_step(config):
    start = time.perf_counter()
    model, losses = _train_step(config)
    ssa = config.endswith('_ssa.py')
    expected = {'decode.' + k for k in LOSS_WEIGHTS} if ssa else {'decode.loss_ce'}
    assert expected <= set(losses)
    head = model.decode_head
    assert head.conv_seg.weight.grad.abs().sum() > 0
    assert head.trans.transformer_blocks[0].gamma.grad.abs().sum() > 0
    if not ssa:
        assert head.lgc.channel_mul_conv[0].weight.grad is not None
    # The attention-bias tables are trained (through the bicubic resize).
    last_attn = model.backbone.network[6][-1].token_mixer
    assert last_attn.attention_biases_seg.grad.abs().sum() > 0
    assert model.backbone.network[5].attn.attention_biases_seg.grad.abs().sum() > 0
    print(config, f'{time.perf_counter() - start:.2f} s')


def test_pretrained_imagenet_checkpoint_loads_non_strictly(tmp_path):
    """An EfficientFormerV2 ImageNet file ({'model': ...}, classifier keys, no ``*_seg``
    tables) initialises the backbone as the reference's non-strict load does."""
    init_default_scope('mmseg')
    source = MODELS.build(dict(type='efficientformerv2_s2_feat'))
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v
             for k, v in source.state_dict().items() if '_seg' not in k}
    state['head.weight'] = torch.zeros(1000, 288)            # classification-only entry
    path = tmp_path / 'eformer_s2_450.pth'
    torch.save({'model': state}, path)
    backbone = MODELS.build(dict(type='efficientformerv2_s2_feat',
                                 init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    backbone.init_weights()
    own = backbone.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items() if k != 'head.weight')
    assert all(own[k].abs().sum() == 0 for k in own if k.endswith('attention_biases_seg'))
