"""CGRSeg (EfficientFormerV2 + CGRSeg / CGRSeg_ssa heads) against the reference fixtures.

The CGRSeg-B fixtures come from the original SSA-Seg code (the shared tests of
:class:`reference_tester.ReferenceFamilyTester`); the CGRSeg-L configs have no fixture and are
checked for the key structure the reference implies and for a training step.
"""
import re

import pytest
import reference_fixtures as ref
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from reference_tester import ReferenceFamilyTester, int_buffers, is_ssa

from ssa_seg.zoo import REPO_ROOT

# Reference-size models (seconds each on 2 CPU cores): CI runs them with -m ''.
pytestmark = pytest.mark.slow

CONFIGS = REPO_ROOT / 'ssa_seg' / 'configs' / 'cgrseg'
FIXTURES = ['cgrseg-b_ade20k_160k', 'cgrseg-b_ade20k_160k_ssa']


class TestCGRSeg(ReferenceFamilyTester):
    configs = CONFIGS
    fixtures = FIXTURES
    train_configs = ['cgrseg-b_ade20k_160k', 'cgrseg-b_ade20k_160k_ssa',
                     'cgrseg-l_ade20k_160k', 'cgrseg-l_ade20k_160k_ssa']
    train_size = (64, 96)

    def check_state_dict(self, name, model, reference_keys):
        if is_ssa(name):
            assert not any('.lgc.' in k for k in model.state_dict())   # no DPG stage in _ssa

    def watch_non_square(self, name, model):
        """224 x 288: the bias matrices are resized to (63, 63) and (63, 252)."""
        sizes = set()
        for module in model.backbone.modules():
            if hasattr(module, 'resized_bias'):
                def spy(attn, _orig=module.resized_bias):
                    bias = _orig(attn)
                    sizes.add(tuple(bias.shape))
                    return bias
                module.resized_bias = spy

        def check():
            assert sizes == {(1, 8, 63, 63), (1, 8, 63, 252)}
        return check

    def build_for_training(self, config):
        cfg, model = super().build_for_training(config)
        model.init_weights()
        return cfg, model.train()

    def check_gradients(self, config, model):
        head = model.decode_head
        assert head.trans.transformer_blocks[0].gamma.grad.abs().sum() > 0
        if not is_ssa(config):
            assert head.lgc.channel_mul_conv[0].weight.grad is not None
        # The attention-bias tables are trained (through the bicubic resize).
        last_attn = model.backbone.network[6][-1].token_mixer
        assert last_attn.attention_biases_seg.grad.abs().sum() > 0
        assert model.backbone.network[5].attn.attention_biases_seg.grad.abs().sum() > 0


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
    b_int = int_buffers('cgrseg-b_ade20k_160k')
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
