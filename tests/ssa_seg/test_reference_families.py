"""Families mmseg 1.x has (SegNeXt, SegFormer-B5, UperNet Swin-T, OCRNet HRNet-W48): the
project configs load reference SSA-Seg checkpoints strictly and reproduce the reference logits
(the shared tests of :class:`reference_tester.ReferenceFamilyTester`).

SegNeXt's MSCAN is mmseg's, under the reference's parameter names (``MSCANRef``, see
ssa_seg/models/backbones/mscan.py); the heads are mmseg's and this project's ``*_ssa`` forms.
"""
import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.models.backbones import MSCAN
from mmseg.registry import MODELS
from reference_fixtures import fixture_keys, load_fixture_checkpoint, reference_input
from reference_tester import ReferenceFamilyTester, is_ssa

import ssa_seg  # noqa: F401  (registers MSCANRef and the *_ssa heads)
from ssa_seg.classifier import LOSS_WEIGHTS
from ssa_seg.models.backbones import MSCANRef
from ssa_seg.zoo import REPO_ROOT

CONFIGS = REPO_ROOT / 'ssa_seg' / 'configs'
SEGNEXT = 'segnext_tiny_512x512_160k_4x4_ade20k'
# fixture name -> project config (relative to CONFIGS, without .py)
FIXTURE_CONFIGS = {
    SEGNEXT: f'segnext/{SEGNEXT}',
    SEGNEXT + '_ssa': f'segnext/{SEGNEXT}_ssa',
    'segformer_mit-b5_512x512_160k_ade20k_ssa':
        'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa',
    'upernet_swin_tiny_ade20k_ssa': 'swin/upernet_swin_tiny_ade20k_ssa',
    'ocrnet_hr48_512x512_160k_ade20k_ssa': 'ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa',
}
# baseline config -> its decode head (the SSA config adds _ssa to both)
BASELINES = {
    'segnext/segnext_tiny_512x512_160k_4x4_ade20k': 'LightHamHead',
    'segformer/segformer_mit-b5_512x512_160k_ade20k': 'SegformerHead',
    'swin/upernet_swin_tiny_ade20k': 'UPerHead',
    'ocrnet/ocrnet_hr48_512x512_160k_ade20k': 'OCRHead',
}
SMALL_MSCAN = dict(embed_dims=[8, 16, 32, 32], mlp_ratios=[2, 2, 2, 2], depths=[1, 1, 1, 1],
                   norm_cfg=dict(type='BN', requires_grad=True))


def build_from_config(relative, cfg_options=None):
    """The config's model on CPU: SyncBN becomes BN (identical at eval, as in the fixtures)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIGS / f'{relative}.py')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    torch.manual_seed(0)
    return cfg, revert_sync_batchnorm(MODELS.build(cfg.model))


class TestMMSegFamilies(ReferenceFamilyTester):
    configs = CONFIGS
    fixtures = list(FIXTURE_CONFIGS)
    train_configs = [c for baseline in BASELINES for c in (baseline, baseline + '_ssa')]

    # mmseg's own backbones and heads: the non-square check is the ported families' (their
    # position embeddings and bias tables are resized to the input); this file never ran it.
    test_non_square_input_other_seed = None

    def config_path(self, name):
        return CONFIGS / f'{FIXTURE_CONFIGS.get(name, name)}.py'

    def head_prefix(self, name):
        return 'decode_head.1.' if name.startswith('ocrnet') else 'decode_head.'

    def build(self, name):
        return build_from_config(FIXTURE_CONFIGS[name])[1].eval()

    def expected_losses(self, config, cfg):
        cascade = cfg.model.type == 'CascadeEncoderDecoder'
        stage = 'decode_1.' if cascade else 'decode.'
        expected = {stage + k for k in (LOSS_WEIGHTS if is_ssa(config) else ['loss_ce'])}
        if cascade:
            expected.add('decode_0.loss_ce')
        if cfg.model.get('auxiliary_head'):
            expected.add('aux.loss_ce')
        return expected

    def after_training_step(self, config, cfg, model, total):
        """One optimizer step of the config's optim_wrapper: the classifier's parameters and
        the backbone move."""
        ssa = is_ssa(config)
        cascade = cfg.model.type == 'CascadeEncoderDecoder'
        final = cfg.model.decode_head[-1] if cascade else cfg.model.decode_head
        assert final.type == BASELINES[config.removesuffix('_ssa')] + ('_ssa' if ssa else '')
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        before = {k: v.detach().clone() for k, v in model.named_parameters()}
        optim.update_params(total)
        changed = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
        assert changed, 'no parameter moved'
        names = ['conv_seg.weight'] + (['center_pos.weight', 'center_proj.weight',
                                        'gt_center_proj.weight'] if ssa else [])
        prefix = 'decode_head.1.' if cascade else 'decode_head.'
        for name in names:
            assert prefix + name in changed, name
        assert any(k.startswith('backbone.') for k in changed)


# ------------------------------------------------------------------ SegNeXt: names and RNG

def test_mscanref_has_the_reference_keys_and_mmseg_differs_only_in_the_dwconv_wrapper():
    _, model = build_from_config(FIXTURE_CONFIGS[SEGNEXT])
    reference = [key for key, *_ in fixture_keys(SEGNEXT)]
    assert set(model.state_dict()) == set(reference)
    ref_backbone = {k[len('backbone.'):] for k in reference if k.startswith('backbone.')}
    flat = MSCAN(embed_dims=[32, 64, 160, 256], mlp_ratios=[8, 8, 4, 4], depths=[3, 3, 5, 2],
                 norm_cfg=dict(type='BN', requires_grad=True))
    renamed = {k.replace('.mlp.dwconv.dwconv.', '.mlp.dwconv.') for k in ref_backbone}
    assert set(flat.state_dict()) == renamed != ref_backbone
    assert sum(1 for k in ref_backbone if '.mlp.dwconv.dwconv.' in k) == 2 * (3 + 3 + 5 + 2)


def test_mscanref_loads_mmseg_layout_weights_and_computes_what_mscan_computes():
    torch.manual_seed(1)
    flat = MSCAN(**SMALL_MSCAN).eval()
    ours = MSCANRef(**SMALL_MSCAN).eval()
    ours.load_state_dict(flat.state_dict(), strict=True)  # 1.x layout accepted by the holder
    assert any('.mlp.dwconv.dwconv.weight' in k for k in ours.state_dict())
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(flat(x), ours(x), strict=True):
            assert torch.equal(a, b)
    # And the reference layout loads into a fresh MSCANRef strictly.
    again = MSCANRef(**SMALL_MSCAN)
    again.load_state_dict(ours.state_dict(), strict=True)


def test_mscanref_pretrained_init_from_an_mmseg_layout_file(tmp_path):
    """mmengine's Pretrained init loads non-strictly: without the holder's renaming the
    depthwise convs would silently keep their random init."""
    torch.manual_seed(2)
    flat = MSCAN(**SMALL_MSCAN)
    path = tmp_path / 'mscan_flat.pth'
    torch.save({'state_dict': flat.state_dict()}, path)
    ours = MSCANRef(**SMALL_MSCAN, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    for key, value in flat.state_dict().items():
        nested = key.replace('.mlp.dwconv.', '.mlp.dwconv.dwconv.')
        assert torch.equal(ours.state_dict()[nested], value), key


@pytest.mark.slow
def test_ham_head_draws_exactly_one_uniform_basis_tensor_from_the_global_rng(tmp_path):
    """mmseg 1.x's NMF2D draws as the reference does: one torch.rand((B*S, D, R)) per forward
    from the global CPU generator, nothing else in the model touches it."""
    _, model = build_from_config(FIXTURE_CONFIGS[SEGNEXT])
    load_fixture_checkpoint(model, SEGNEXT, tmp_path)
    x = reference_input(0, (64, 96))
    meta = [dict(img_shape=(64, 96), ori_shape=(64, 96), pad_shape=(64, 96))]
    with torch.no_grad():
        torch.manual_seed(5)
        first = model.encode_decode(x, meta)
        after_forward = torch.rand(8)
        torch.manual_seed(5)
        torch.rand((1, 256, 16))                          # B*S = 1, D = 256, R = MD_R = 16
        assert torch.equal(after_forward, torch.rand(8))
        torch.manual_seed(5)
        assert torch.equal(model.encode_decode(x, meta), first)
        different = model.encode_decode(x, meta)          # the next draw: other bases
    assert not torch.allclose(first, different, atol=1e-3)
