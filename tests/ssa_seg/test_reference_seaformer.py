"""SeaFormer (backbone ``SeaFormer``, heads ``LightHead`` / ``LightHead_ssa``) against the
reference fixtures (the shared tests of :class:`reference_tester.ReferenceFamilyTester`), plus
the rows and columns of a non-square input, the SeaFormer-B key structure and the backbone's
initialisation."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from reference_fixtures import fixture_keys
from reference_tester import ReferenceFamilyTester

from ssa_seg.apis import load_config
from ssa_seg.zoo import REPO_ROOT

# Reference-size models (seconds each on 2 CPU cores): CI runs them with -m ''.
pytestmark = pytest.mark.slow

CONFIGS = REPO_ROOT / 'ssa_seg' / 'configs' / 'seaformer'
LARGE = 'seaformer_large_512x512_160k_4x4_ade20k'
BASE = 'seaformer_base_512x512_160k_4x4_ade20k'
# The released configs use SyncBN; the fixtures were made with BN (identical at eval).
BN = {'model.backbone.norm_cfg.type': 'BN', 'model.decode_head.norm_cfg.type': 'BN'}


class TestSeaFormer(ReferenceFamilyTester):
    configs = CONFIGS
    fixtures = [LARGE, LARGE + '_ssa']
    train_configs = [BASE, BASE + '_ssa', LARGE, LARGE + '_ssa']
    cfg_options = BN
    backbone_type = 'SeaFormer'
    head_types = {LARGE: 'LightHead', LARGE + '_ssa': 'LightHead_ssa'}

    def watch_non_square(self, name, model):
        """Rows and columns have different lengths at every transformer stage (the position
        embeddings are resized to each)."""
        lengths = []
        hooks = [m.register_forward_hook(lambda mod, args, out: lengths.append(args[0].shape[-1]))
                 for n, m in model.backbone.named_modules() if n.endswith('pos_emb_rowq')
                 or n.endswith('pos_emb_columnq')]

        def check():
            for hook in hooks:
                hook.remove()
            # Row/column pairs per block: 224 -> 28, 14, 7, 4 and 288 -> 36, 18, 9, 5 at
            # 1/8 .. 1/64; the transformer stages of SeaFormer-L run at 1/16, 1/32, 1/64.
            pairs = set(zip(lengths[::2], lengths[1::2], strict=True))
            assert pairs == {(14, 18), (7, 9), (4, 5)}, pairs
        return check

    def check_gradients(self, config, model):
        assert model.decode_head.fuse1.local_embedding.conv.weight.grad.abs().sum() > 0
        assert model.backbone.smb1.stem_block[0].c.weight.grad.abs().sum() > 0
        pos = model.backbone.trans1.transformer_blocks[0].attn.pos_emb_rowq.pos_embed
        assert pos.grad is not None and torch.isfinite(pos.grad).all()


# ---------------------------------------------------------------------------------------------
# Expected state-dict structure, derived from the reference architecture (not from our code):
# each entry of the reference's ``Conv2d_BN`` is one conv weight plus a BatchNorm's weight,
# bias, running_mean, running_var, num_batches_tracked (6 keys); mmcv ``ConvModule`` with norm
# has the same 6 (``conv.weight``, ``bn.*``). An inverted residual has 3 Conv2d_BN (2 when its
# expand ratio is 1: no 1x1 expansion). A SeaFormer block has 8 Conv2d_BN in the attention
# (to_q, to_k, to_v, proj, proj_encode_row, proj_encode_column, dwconv, pwconv), 4 position
# embeddings and an MLP of 2 Conv2d_BN plus a biased depthwise conv: 8*6 + 4 + 2*6 + 2 = 66.
# LightHead: conv_seg (2), linear_fuse (6), two ConvModules per fusion block (12 each).
# Shapes come from the reference formulas: hidden = round(in * t); q/k channels key_dim * heads;
# v channels attn_ratio (2) * key_dim * heads; MLP hidden = dim * mlp_ratio.
# The function is checked against the SeaFormer-L fixture, then applied to SeaFormer-B.
# ---------------------------------------------------------------------------------------------

def expected_seaformer_shapes(backbone, head):
    shapes = {}

    def conv_bn(prefix, cin, cout, k=1, groups=1, conv='c'):
        shapes[f'{prefix}.{conv}.weight'] = (cout, cin // groups, k, k)
        for entry in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.bn.{entry}'] = (cout,)
        shapes[f'{prefix}.bn.num_batches_tracked'] = ()

    conv_bn('backbone.smb1.stem_block.0', 3, backbone['channels'][0], 3)
    for i, specs in enumerate(backbone['cfgs']):
        cin = backbone['channels'][i]
        for j, (k, t, c, _stride) in enumerate(specs):
            base, hidden, idx = f'backbone.smb{i + 1}.layer{j + 1}.conv', int(round(cin * t)), 0
            if t != 1:
                conv_bn(f'{base}.0', cin, hidden)
                idx = 2
            conv_bn(f'{base}.{idx}', hidden, hidden, k, groups=hidden)
            conv_bn(f'{base}.{idx + 2}', hidden, c)
            cin = c
    heads = backbone['num_heads']
    for i, depth in enumerate(backbone['depths']):
        dim, kd = backbone['emb_dims'][i], backbone['key_dims'][i]
        qk, v = kd * heads, 2 * kd * heads
        hidden = int(dim * backbone['mlp_ratios'][i])
        for b in range(depth):
            p = f'backbone.trans{i + 1}.transformer_blocks.{b}'
            conv_bn(f'{p}.attn.to_q', dim, qk)
            conv_bn(f'{p}.attn.to_k', dim, qk)
            conv_bn(f'{p}.attn.to_v', dim, v)
            conv_bn(f'{p}.attn.proj.1', v, dim)
            conv_bn(f'{p}.attn.proj_encode_row.1', v, v)
            conv_bn(f'{p}.attn.proj_encode_column.1', v, v)
            for axis in ('rowq', 'rowk', 'columnq', 'columnk'):
                shapes[f'{p}.attn.pos_emb_{axis}.pos_embed'] = (1, qk, 16)
            conv_bn(f'{p}.attn.dwconv', 2 * qk + v, 2 * qk + v, 3, groups=2 * qk + v)
            conv_bn(f'{p}.attn.pwconv', 2 * qk + v, dim)
            conv_bn(f'{p}.mlp.fc1', dim, hidden)
            shapes[f'{p}.mlp.dwconv.weight'] = (hidden, 1, 3, 3)
            shapes[f'{p}.mlp.dwconv.bias'] = (hidden,)
            conv_bn(f'{p}.mlp.fc2', hidden, dim)
    c, k = head['channels'], head['num_classes']
    shapes['decode_head.conv_seg.weight'] = (k, c, 1, 1)
    shapes['decode_head.conv_seg.bias'] = (k,)
    conv_bn('decode_head.linear_fuse', c, c, groups=c if head['is_dw'] else 1, conv='conv')
    detail = head['in_channels'][0]
    for i, embed in enumerate(head['embed_dims']):
        conv_bn(f'decode_head.fuse{i + 1}.local_embedding', detail, embed, conv='conv')
        conv_bn(f'decode_head.fuse{i + 1}.global_act', head['in_channels'][i + 1], embed,
                conv='conv')
        detail = embed
    return shapes


def _model_cfg(name):
    return load_config(CONFIGS / f'{name}.py', BN).model


def test_expected_structure_matches_large_fixture():
    cfg = _model_cfg(LARGE)
    expected = expected_seaformer_shapes(cfg.backbone, cfg.decode_head)
    reference = {k: shape for k, shape, _, _ in fixture_keys(LARGE)}
    assert expected == reference
    # 6 + (3 + 2 + 2 + 1 + 1) * 18 + 9 * 66 backbone keys, 2 + 6 + 3 * 12 head keys.
    assert len(reference) == 6 + 9 * 18 + 9 * 66 + 2 + 6 + 3 * 12 == 806


def test_seaformer_base_key_structure():
    """SeaFormer-B (no fixture): keys and shapes as the reference architecture implies.

    Key count: stem 6; smb1 = 12 (layer1 has t = 1) + 2 * 18; smb2, smb3 = 2 * 18 each;
    smb4, smb5 = 18 each; trans1, trans2 = 4 blocks * 66 each; head 2 + 6 + 2 * 12:
    6 + 48 + 36 + 36 + 18 + 18 + 528 + 32 = 722. The SSA form adds the 17 classifier entries
    (get_feat_pos 2, center_pos 1, 2 x 3 for the centre MLPs, center_proj 1, and the teacher's
    2 x 3 + 1), the reference's 18th (the loss's empty_weight buffer) being ignored on load.
    """
    init_default_scope('mmseg')
    for name, extra in ((BASE, 0), (BASE + '_ssa', 17)):
        cfg = _model_cfg(name)
        model = MODELS.build(cfg).eval()
        own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        expected = expected_seaformer_shapes(cfg.backbone, cfg.decode_head)
        assert {k: own[k] for k in expected} == expected
        assert len(own) == 722 + extra
        assert len(model.backbone(torch.zeros(1, 3, 64, 64))) == 3   # 1/8, 1/32, 1/64 maps
        if not extra:
            n_params = sum(math.prod(s) for k, s in expected.items()
                           if not k.endswith(('running_mean', 'running_var',
                                              'num_batches_tracked')))
            assert sum(p.numel() for p in model.parameters()) == n_params
        else:
            ssa_keys = set(own) - set(expected)
            assert all(k.startswith('decode_head.') for k in ssa_keys)
            assert own['decode_head.center_pos.weight'] == (150, 160)
            assert own['decode_head.center_content_proj.0.weight'] == (80, 320)


def test_backbone_init_weights_and_local_pretrained_file(tmp_path):
    """init_weights re-draws convs (norm layers keep their constructor values); a local
    ImageNet-style checkpoint (``state_dict_ema`` with a classifier entry) loads into the
    backbone, the classifier entry being skipped."""
    init_default_scope('mmseg')
    cfg = _model_cfg(BASE).backbone
    torch.manual_seed(0)
    source = MODELS.build(cfg)
    weights = dict(source.state_dict(), **{'classifier.weight': torch.zeros(1000, 256)})
    torch.save({'state_dict_ema': weights}, tmp_path / 'seaformer_b_cls.pth')

    cfg.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'seaformer_b_cls.pth'))
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    proj_bn = model.trans1.transformer_blocks[0].attn.proj[1].bn
    assert proj_bn.weight.abs().sum() == 0          # the attention projections start at 0
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    cfg.init_cfg = None
    model = MODELS.build(cfg)
    model.init_weights()
    stem = model.smb1.stem_block[0].c.weight        # N(0, 2 / (3 * 3 * 16))
    assert abs(stem.std().item() - (2 / 144) ** 0.5) < 0.05
    assert all(torch.isfinite(p).all() for p in model.parameters())
