"""ONNX export (ssa_seg.export): the exported graph under ONNX Runtime reproduces
``inference_model``'s ``seg_logits`` for every family, baseline and SSA-Seg.

Parity: max |onnx - torch| <= 1e-4 x max |logits| and argmax agreement >= 99.9%, on an RGB
uint8 image fed to both (the ONNX model gets it as float 0..255: normalisation is inside the
graph). Weights: the reference fixtures' regenerated checkpoints where a fixture exists,
otherwise the config's own random initialisation (seed 0). The configs' test pipelines
resize to 2048 x 512; here it is removed, so both sides compute at the image's size (the
export contract: the graph takes the image at the size to compute at).
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from mmseg.models.decode_heads.ham_head import NMF2D
from reference_fixtures import make_checkpoint

from ssa_seg.apis import inference_model, init_model, load_config
from ssa_seg.export import export_onnx, fix_ham_bases, run_onnx
from ssa_seg.zoo import REPO_ROOT

CONFIGS = REPO_ROOT / 'ssa_seg' / 'configs'
CONFIGS_V0 = REPO_ROOT / 'tests' / 'configs_v0'
NO_RESIZE = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
TOLERANCE, MIN_ARGMAX = 1e-4, 0.999

# (config under ssa_seg/configs, reference fixture or None, input H x W)
FAST = [
    ('seaformer/seaformer_large_512x512_160k_4x4_ade20k.py', True, (64, 96)),
    ('seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py', True, (64, 96)),
    ('segnext/segnext_tiny_512x512_160k_4x4_ade20k.py', True, (64, 64)),
    ('segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py', True, (64, 64)),
]
SLOW = [
    ('afformer/afformer_base_ade20k.py', True, (64, 64)),
    ('afformer/afformer_base_ade20k_ssa.py', True, (64, 64)),
    ('cgrseg/cgrseg-b_ade20k_160k.py', True, (64, 64)),
    ('cgrseg/cgrseg-b_ade20k_160k_ssa.py', True, (64, 64)),
    ('segformer/segformer_mit-b5_512x512_160k_ade20k.py', False, (64, 64)),
    ('segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py', True, (64, 64)),
    ('swin/upernet_swin_tiny_ade20k.py', False, (64, 64)),
    ('swin/upernet_swin_tiny_ade20k_ssa.py', True, (64, 64)),
    ('ocrnet/ocrnet_hr48_512x512_160k_ade20k.py', False, (64, 64)),
    ('ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py', True, (64, 64)),
    ('ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py', True, (48, 80)),
]
# A head whose classifier output goes through torch.histc, which has no ONNX form: what a
# model the exporter cannot convert looks like from the CLI.
HISTC_HEAD = """
import torch
from mmseg.registry import MODELS
from ssa_seg.models.heads.seaformer import LightHead


@MODELS.register_module()
class HistcLightHead(LightHead):
    def cls_seg(self, feat):
        out = super().cls_seg(feat)
        return out + torch.histc(out, bins=4).sum() * 0
"""


def fixture_name(config):
    return config.split('/')[-1][:-3]


def build(config, tmp_path, with_fixture, cfg_options=None):
    """The model as a user builds it (init_model on the config and a checkpoint file), with
    the test pipeline's Resize removed."""
    cfg = load_config(config, cfg_options)
    cfg.test_pipeline = NO_RESIZE
    if cfg.get('test_dataloader'):
        cfg.test_dataloader.dataset.pipeline = NO_RESIZE
    checkpoint = None
    if with_fixture:
        checkpoint = tmp_path / 'weights.pth'
        torch.save(make_checkpoint(fixture_name(str(config))), checkpoint)
    torch.manual_seed(0)
    return init_model(cfg, checkpoint)


def image(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


# Families checked against the float64 computation of the same model instead of torch's
# float32 one. OCRNet HRNet-W48 + SSA-Seg (reference-fixture weights): rounding is amplified by
# HRNet's depth and the two-stage OCR attention, so torch's own float32 logits are 1.4e-4 to
# 2.5e-4 x max|logits| from its float64 ones on the test images (1.8e-3 on the export
# check's random input), and how far depends on the CPU's kernels: an earlier machine gave
# ONNX Runtime 3.3e-5 from float64, this AVX-512 one 1.7e-4. The 1e-4 target cannot be held
# by float32 here, in torch or any runtime; what is asserted is that ONNX Runtime is no
# farther from the exact answer than twice torch's float32 (and under 1e-3 x max|logits|).
# With these weights a quarter to a half of the pixels have a float64 top-2 margin near the
# rounding (numerical ties), so argmax agreement is counted where the margin exceeds twice
# the allowed error.
FLOAT64_REFEREE = {'ocrnet_hr48_512x512_160k_ade20k_ssa'}
FLOAT64_CEILING = 1e-3


@torch.no_grad()
def float64_logits(model, img):
    """``seg_logits`` of ``model`` computed in float64 (on a copy)."""
    import copy

    from ssa_seg.apis import prepare_inputs
    exact = copy.deepcopy(model).double()
    inputs, sample = prepare_inputs(exact, img)
    return exact.predict(inputs.double(), [sample])[0].seg_logits.data.numpy()


def assert_float64_parity(path, model, img):
    expected = float64_logits(model, img)
    float32 = inference_model(model, img).seg_logits.data.numpy()
    got = run_onnx(path, img.transpose(2, 0, 1)[None].astype(np.float32))[0]
    scale = np.abs(expected).max()
    torch_error = np.abs(float32 - expected).max() / scale
    onnx_error = np.abs(got - expected).max() / scale
    allowed = max(TOLERANCE, 2 * torch_error)
    assert onnx_error <= min(allowed, FLOAT64_CEILING), (onnx_error, torch_error)
    top2 = np.sort(expected, axis=0)[-2:]
    decided = top2[1] - top2[0] > 2 * allowed * scale
    assert decided.sum() >= 1000                    # not a vacuous check
    assert (got.argmax(0) == expected.argmax(0))[decided].mean() >= MIN_ARGMAX


def assert_parity(model, path, img, name=''):
    if name in FLOAT64_REFEREE:
        return assert_float64_parity(path, model, img)
    expected = inference_model(model, img).seg_logits.data.numpy()
    got = run_onnx(path, img.transpose(2, 0, 1)[None].astype(np.float32))[0]
    assert got.shape == expected.shape
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= TOLERANCE * scale
    assert (got.argmax(0) == expected.argmax(0)).mean() >= MIN_ARGMAX


def check_family(config, with_fixture, size, tmp_path):
    model = build(CONFIGS / config, tmp_path, with_fixture)
    path = export_onnx(model, tmp_path / 'model.onnx', shape=size)
    # the same (fixed) NMF bases in torch as in the graph; a no-op for other heads
    fix_ham_bases(model)
    assert_parity(model, path, image(size), fixture_name(config))


@pytest.mark.parametrize('config,with_fixture,size', FAST)
def test_onnx_matches_inference_model(config, with_fixture, size, tmp_path):
    check_family(config, with_fixture, size, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize('config,with_fixture,size', SLOW)
def test_onnx_matches_inference_model_heavy_families(config, with_fixture, size, tmp_path):
    check_family(config, with_fixture, size, tmp_path)


def test_ham_bases_are_fixed_from_the_seed(tmp_path):
    config = CONFIGS / 'segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py'
    model = build(config, tmp_path, True)
    img = image((64, 64))
    drawn = [inference_model(model, img).seg_logits.data for _ in range(2)]
    assert not torch.equal(*drawn)                  # mmseg draws new bases every forward
    assert fix_ham_bases(model, seed=3) == 1
    nmf = next(m for m in model.modules() if isinstance(m, NMF2D))
    expected = torch.nn.functional.normalize(
        torch.rand((1, 256, 16), generator=torch.Generator().manual_seed(3)), dim=1)   # S, D, R
    assert nmf.rand_init is False and torch.equal(nmf.bases, expected)
    fixed = [inference_model(model, img).seg_logits.data for _ in range(2)]
    assert torch.equal(*fixed)
    path = export_onnx(model, tmp_path / 'segnext.onnx', shape=(64, 64), seed=3)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta['ham_bases_seed'] == '3'
    assert_parity(model, path, img)
    fix_ham_bases(model, seed=4)                    # other bases, other logits
    assert not torch.allclose(inference_model(model, img).seg_logits.data, fixed[0])


def test_dynamic_export_runs_any_batch_and_size(tmp_path):
    config = CONFIGS / 'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py'
    model = build(config, tmp_path, True)
    path = export_onnx(model, tmp_path / 'dyn.onnx', shape=(64, 64), dynamic=True)
    for size in ((64, 64), (96, 128)):
        imgs = [image(size, seed) for seed in (1, 2)]
        batch = np.stack([i.transpose(2, 0, 1) for i in imgs]).astype(np.float32)
        got = run_onnx(path, batch)
        for img, logits in zip(imgs, got):
            expected = inference_model(model, img).seg_logits.data.numpy()
            assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()


def test_slide_config_exports_whole_image_inference_equal_to_one_window(tmp_path):
    """A 0.x config inferring by slide: the graph is whole-image inference, equal to slide
    inference for an input of one crop, and its metadata says so."""
    config = CONFIGS_V0 / 'swin/upernet_swin_tiny_4x4_80k_pc_ssa.py'
    model = build(config, tmp_path, False,
                  {'model.test_cfg.crop_size': (64, 64), 'model.test_cfg.stride': (43, 43)})
    assert model.test_cfg['mode'] == 'slide'
    path = export_onnx(model, tmp_path / 'slide.onnx', shape=(64, 64))
    assert_parity(model, path, image((64, 64)))
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta['inference'].startswith('whole-image (the config infers by slide, crop (64, 64)')


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'ssa_seg.export', *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)


def test_cli_writes_the_contract(tmp_path):
    config = CONFIGS / 'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py'
    checkpoint = tmp_path / 'ssa.pth'
    torch.save(make_checkpoint(fixture_name(str(config))), checkpoint)
    out = tmp_path / 'out' / 'seaformer_ssa.onnx'
    result = run_cli(config, checkpoint, '--out', out, '--shape', 64, 96)
    assert result.returncode == 0, result.stderr
    assert f'wrote {out}' in result.stdout and 'whole-image' in result.stdout
    proto = onnx.load(str(out))
    (inp,), (outp,) = proto.graph.input, proto.graph.output
    dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert (inp.name, outp.name, dims) == ('image', 'logits', [1, 3, 64, 96])
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['num_classes'] == '150' and len(meta['classes'].split('|')) == 150
    model = build(config, tmp_path, True)
    assert_parity(model, out, image((64, 96), seed=5))


def test_cli_errors_are_one_line(tmp_path):
    config = CONFIGS / 'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py'
    missing = run_cli(config, tmp_path / 'nope.pth', '--out', tmp_path / 'm.onnx')
    assert missing.returncode != 0
    assert 'error: checkpoint file not found' in missing.stderr.strip().splitlines()[-1]
    no_config = run_cli(tmp_path / 'nope.py', tmp_path / 'nope.pth', '--out', tmp_path / 'm.onnx')
    assert 'error: config file not found' in no_config.stderr.strip().splitlines()[-1]
    checkpoint = tmp_path / 'ssa.pth'
    torch.save(make_checkpoint(fixture_name(str(config))), checkpoint)
    tiny = run_cli(config, checkpoint, '--out', tmp_path / 'm.onnx', '--shape', 16, 16)
    expected = 'error: --shape must be at least 32 x 32, got 16 x 16'
    assert tiny.stderr.strip().splitlines()[-1] == expected


def test_a_model_that_cannot_export_names_the_failing_op(tmp_path):
    (tmp_path / 'histc_head.py').write_text(HISTC_HEAD)
    base = CONFIGS / 'seaformer/seaformer_large_512x512_160k_4x4_ade20k.py'
    config = tmp_path / 'histc.py'
    config.write_text(f"_base_ = ['{base}']\n"
                      "custom_imports = dict(imports=['histc_head'], allow_failed_imports=False)\n"
                      "model = dict(decode_head=dict(type='HistcLightHead'))\n")
    checkpoint = tmp_path / 'base.pth'
    torch.save(make_checkpoint(fixture_name(str(base))), checkpoint)
    result = subprocess.run(
        [sys.executable, '-m', 'ssa_seg.export', str(config), str(checkpoint), '--out',
         str(tmp_path / 'h.onnx'), '--shape', '64', '64'], capture_output=True, text=True,
        cwd=REPO_ROOT, timeout=600, env={**os.environ, 'PYTHONPATH': os.pathsep.join(
            [str(tmp_path), str(REPO_ROOT), os.environ.get('PYTHONPATH', '')])})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("error: EncoderDecoder with HistcLightHead cannot be exported to ONNX: "
                    "UnsupportedOperatorError: Exporting the operator 'aten::histc' to ONNX "
                    "opset version 18 is not supported")
    assert not (tmp_path / 'h.onnx').exists()
