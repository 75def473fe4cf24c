"""ONNX export of a segmentor, baseline or SSA-Seg.

    python -m ssa_seg.export CONFIG CHECKPOINT --out MODEL.onnx [--shape H W] [--dynamic]
                                               [--seed S] [--cfg-options k=v ...]

The contract of the exported graph:

* input ``image``: float32 N x 3 x H x W, **RGB**, values 0..255 (an image as read, no
  normalisation: the config's ``data_preprocessor`` mean/std, and its channel order, are
  inside the graph);
* output ``logits``: float32 N x K x H x W, at the input's size: what
  ``ssa_seg.apis.inference_model`` returns as ``seg_logits`` for an image the test pipeline
  does not resize (the pipeline's Resize is not in the graph: resize the image to the size you
  want it computed at before feeding it; the logits come back at that size).

Inference is **whole-image**: the network runs once on the whole input. For a config whose
``test_cfg`` is ``mode='slide'`` the graph is the same whole-image network; it equals slide
inference for inputs no larger than one crop (``test_cfg.crop_size``), and for larger inputs
the caller runs the windows (the exported model on each crop, averaged where they overlap).

SSA-Seg heads export their inference path only (coarse mask, prototypes, cosine logits); the
teacher takes no part. LightHamHead (SegNeXt) draws random NMF bases on every forward; the
export fixes them once, drawn from ``--seed`` (default 0, stored in the model's metadata):
the graph is then deterministic, and :func:`fix_ham_bases` gives a torch model the same
bases to compare against.

``--shape`` is the example input's size (default 512 512); ``--dynamic`` makes N, H and W
dynamic (H and W multiples of 32 are what the families support). A model that cannot be
exported stops with ``ExportError`` naming the operator or construct that failed.
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

DEFAULT_SHAPE = (512, 512)
DEFAULT_SEED = 0
OPSET = 18
# The export's own check catches graphs that compute something else (a traced shape
# constant gives errors of order 1); float noise of deep nets under ONNX Runtime's fused
# kernels stays far below (OCRNet HRNet-W48 + SSA: 1.6e-4 measured at 64 x 64).
TOLERANCE = 1e-3          # max |onnx - torch| <= TOLERANCE * max |logits|


class ExportError(RuntimeError):
    """The model cannot be exported to ONNX; the message names what failed."""


class ImageToLogits(nn.Module):
    """The exported function: RGB 0..255 image N x 3 x H x W -> logits N x K x H x W.

    Normalisation (``data_preprocessor`` mean/std, channel order) happens here, then the
    segmentor's whole-image ``encode_decode``, which resizes the logits to the input size.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        pre = model.data_preprocessor
        # The pipeline hands the preprocessor BGR images; with bgr_to_rgb it flips them, so the
        # network sees RGB (our input as is); without, the network expects BGR.
        self.to_bgr = not getattr(pre, 'channel_conversion', False)
        normalise = getattr(pre, '_enable_normalize', False)
        mean = pre.mean.reshape(1, 3, 1, 1) if normalise else torch.zeros(1, 3, 1, 1)
        std = pre.std.reshape(1, 3, 1, 1) if normalise else torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.float().clone(), persistent=False)
        self.register_buffer('std', std.float().clone(), persistent=False)
        self.model = model

    def forward(self, image: Tensor) -> Tensor:
        if self.to_bgr:
            image = image.flip(1)
        x = (image - self.mean) / self.std
        h, w = x.shape[-2:]
        meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w))
        return self.model.encode_decode(x, [meta])


def _ham_modules(model: nn.Module):
    """(Hamburger, its NMF module) pairs of mmseg's LightHamHead in ``model``."""
    from mmseg.models.decode_heads.ham_head import Hamburger

    return [(m, m.ham) for m in model.modules() if isinstance(m, Hamburger)]


def fix_ham_bases(model: nn.Module, seed: int = DEFAULT_SEED) -> int:
    """Give every LightHamHead NMF module fixed bases drawn from ``seed``; returns how many.

    mmseg's NMF draws ``rand(S, D, R)`` bases, normalised over D, on every forward
    (``rand_init=True``). Here they are drawn once the same way (from a generator seeded with
    ``seed``) and kept as the ``bases`` buffer the module uses when ``rand_init`` is False;
    every image of a batch then starts from the same bases. In place; the model's inference
    is deterministic afterwards (same bases in torch and in the exported graph).
    """
    generator = torch.Generator().manual_seed(seed)
    pairs = _ham_modules(model)
    for hamburger, nmf in pairs:
        channels = hamburger.ham_in.conv.out_channels
        dim = channels // nmf.S
        bases = torch.rand((nmf.S, dim, nmf.R), generator=generator)
        bases = torch.nn.functional.normalize(bases, dim=1)
        device = hamburger.ham_in.conv.weight.device
        if hasattr(nmf, 'bases'):
            nmf.bases = bases.to(device)
        else:
            nmf.register_buffer('bases', bases.to(device), persistent=False)
        nmf.rand_init = False
    return len(pairs)


def describe_inference(model: nn.Module) -> str:
    """What the exported graph computes, for the CLI and the model's metadata."""
    test_cfg = getattr(model, 'test_cfg', None) or {}
    if test_cfg.get('mode', 'whole') == 'slide':
        return (f'whole-image (the config infers by slide, crop {tuple(test_cfg["crop_size"])} '
                f'stride {tuple(test_cfg["stride"])}: equal for inputs up to one crop; run '
                'larger inputs window by window)')
    return 'whole-image'


def _failing_op(err: BaseException) -> str:
    """The operator or construct an exporter error names, as one line."""
    text = f'{type(err).__name__}: {err}'
    for line in text.splitlines():
        if any(key in line for key in ('aten::', 'aten.', 'Unsupported', 'unsupported',
                                       'not supported', 'Could not', 'No decomposition')):
            return line.strip()[:400]
    return text.splitlines()[0][:400] if text else type(err).__name__


def _pooling_matrix(n_in: int, n_out: int) -> Tensor:
    """n_out x n_in: row i averages input cells [floor(i n_in / n_out), ceil((i+1) n_in /
    n_out)), the bins of PyTorch's adaptive average pooling."""
    matrix = torch.zeros(n_out, n_in)
    for i in range(n_out):
        start, stop = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        matrix[i, start:stop] = 1.0 / (stop - start)
    return matrix


def _adaptive_avg_pool2d_as_matmuls():
    """F.adaptive_avg_pool2d for tracing as two matmuls with constant averaging matrices
    (global pooling: a mean), the same averages. The ONNX exporter's own conversion rejects
    bins that do not divide the input ("output size that are not factor of input size", e.g.
    UperNet's and AFFormer's 3 and 6 bins on a 16 x 16 map) and inputs whose traced size it
    cannot read."""
    def pool(x: Tensor, output_size) -> Tensor:
        h, w = int(x.shape[-2]), int(x.shape[-1])
        size = (output_size, output_size) if isinstance(output_size, int) else output_size
        out_h, out_w = (h if s is None else int(s) for s, h in zip(size, (h, w)))
        if (out_h, out_w) == (1, 1):
            return x.mean(dim=(-2, -1), keepdim=True)
        rows = _pooling_matrix(h, out_h).to(x)
        cols = _pooling_matrix(w, out_w).to(x)
        return rows @ x @ cols.t()
    return pool


@contextmanager
def _exporting(model: nn.Module, seed: int) -> Iterator[ImageToLogits]:
    """The model wrapped for export, in eval mode, with fixed Ham bases and traceable
    adaptive pooling (restored afterwards)."""
    import torch.nn.functional as F

    was_training, original = model.training, F.adaptive_avg_pool2d
    model.eval()
    fix_ham_bases(model, seed)
    F.adaptive_avg_pool2d = _adaptive_avg_pool2d_as_matmuls()
    try:
        yield ImageToLogits(model).eval()
    finally:
        F.adaptive_avg_pool2d = original
        model.train(was_training)


def export_onnx(model: nn.Module, out: os.PathLike, shape: Tuple[int, int] = DEFAULT_SHAPE,
                dynamic: bool = False, seed: int = DEFAULT_SEED) -> Path:
    """Export ``model`` (an mmseg segmentor, e.g. from ``init_model``) to ``out``.

    Returns the path. Raises ``ExportError`` naming the failing operator when the exporter
    cannot convert the model, ``ValueError`` for a bad shape.
    """
    h, w = (int(v) for v in shape)
    if h < 32 or w < 32:
        raise ValueError(f'--shape must be at least 32 x 32, got {h} x {w}')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255
    dynamic_axes = ({'image': {0: 'batch', 2: 'height', 3: 'width'},
                     'logits': {0: 'batch', 2: 'height', 3: 'width'}} if dynamic else None)
    with _exporting(model, seed) as wrapped, torch.no_grad():
        try:
            torch.onnx.export(wrapped, (example,), str(out), input_names=['image'],
                              output_names=['logits'], opset_version=OPSET, dynamo=False,
                              dynamic_axes=dynamic_axes, do_constant_folding=True)
        except Exception as err:  # the exporter raises many types; all mean "cannot export"
            raise ExportError(f'{type(model).__name__} with '
                              f'{type(_final_head(model)).__name__} cannot be exported to ONNX: '
                              f'{_failing_op(err)}') from err
    _write_metadata(out, model, seed, dynamic)
    try:
        with _exporting(model, seed) as wrapped:
            shapes = [(1, h, w)] + ([(2, h + 32, w + 64)] if dynamic else [])
            for n, hh, ww in shapes:
                _check_against_torch(wrapped, out, n, hh, ww)
    except ExportError:
        out.unlink(missing_ok=True)      # never leave a graph that computes something else
        raise
    return out


def run_onnx(path: os.PathLike, image, threads: int = 1):
    """Logits (numpy N x K x H x W) of the exported model on ``image`` (N x 3 x H x W float32
    RGB 0..255, numpy or torch) under ONNX Runtime with ``threads`` intra-op threads."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])
    array = image.numpy() if isinstance(image, Tensor) else image
    return session.run(None, {'image': np.ascontiguousarray(array, dtype=np.float32)})[0]


@torch.no_grad()
def _check_against_torch(wrapped: ImageToLogits, path: Path, n: int, h: int, w: int) -> None:
    """Run the file under ONNX Runtime and torch on one random batch; ``ExportError`` when
    they disagree by more than TOLERANCE x max|logits| (a trace that baked in a shape) and
    ONNX Runtime is also farther from the float64 answer than twice torch's float32 is."""
    image = torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(1)) * 255
    expected = wrapped(image)
    try:
        got = torch.from_numpy(run_onnx(path, image))
    except Exception as err:  # onnxruntime raises its own types for graphs it cannot run
        raise ExportError(f'the exported model does not run at {n} x 3 x {h} x {w} under ONNX '
                          f'Runtime: {_failing_op(err)}') from err
    scale = expected.abs().max().clamp_min(1e-12)
    diff = ((got - expected).abs().max() / scale).item() if got.shape == expected.shape else None
    allowed = TOLERANCE
    if diff is not None and diff > TOLERANCE:
        # Deep models can carry more float32 rounding than TOLERANCE (OCRNet HRNet-W48 +
        # SSA-Seg: torch's own float32 logits are up to 1.8e-3 of max|logits| from its
        # float64 ones on some inputs, CPU-dependent): then the float64 computation referees,
        # and ONNX Runtime passes if it is no farther from it than twice torch's float32.
        # A graph that baked in a shape is wrong by far more than rounding.
        exact = copy.deepcopy(wrapped).double()
        with torch.no_grad():
            expected64 = exact(image.double())
        del exact
        scale64 = expected64.abs().max()
        diff = ((got.double() - expected64).abs().max() / scale64).item()
        torch32 = ((expected.double() - expected64).abs().max() / scale64).item()
        allowed = max(TOLERANCE, 2 * torch32)
    if diff is None or diff > allowed:
        detail = (f'shape {tuple(got.shape)} instead of {tuple(expected.shape)}' if diff is None
                  else f'max |diff| {diff:.2e} of max |logits|')
        raise ExportError(f'the exported model disagrees with torch at {n} x 3 x {h} x {w} '
                          f'({detail}): the model computes something from the input size that '
                          'the trace kept as a constant; export without --dynamic, at the size '
                          'you will run')


def _final_head(model: nn.Module) -> nn.Module:
    head = model.decode_head
    return head[-1] if isinstance(head, nn.ModuleList) else head


def _write_metadata(path: Path, model: nn.Module, seed: int, dynamic: bool) -> None:
    """Record the contract in the ONNX file's metadata (read by any runtime)."""
    import onnx

    proto = onnx.load(str(path))
    meta = getattr(model, 'dataset_meta', None) or {}
    entries = {
        'input': 'image: float32 N x 3 x H x W, RGB, 0..255 (normalisation inside)',
        'output': 'logits: float32 N x K x H x W at the input size',
        'inference': describe_inference(model),
        'num_classes': str(_final_head(model).num_classes),
        'classes': '|'.join(meta.get('classes', ())),
        'ham_bases_seed': str(seed) if _ham_modules(model) else '',
        'dynamic': str(bool(dynamic)),
    }
    for key, value in entries.items():
        if value:
            prop = proto.metadata_props.add()
            prop.key, prop.value = key, value
    onnx.save(proto, str(path))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from .runner_cli import add_cfg_options

    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.export',
        description='Export a segmentor (baseline or SSA-Seg) to ONNX: RGB 0..255 in, '
                    'logits at the input size out.')
    parser.add_argument('config', help='config file (1.x or reference 0.x)')
    parser.add_argument('checkpoint', help='checkpoint file (loaded with weights_only=True)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        default=list(DEFAULT_SHAPE), help='example input size (default 512 512)')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width')
    parser.add_argument('--seed', type=int, default=DEFAULT_SEED,
                        help='seed of the fixed NMF bases of LightHamHead (default 0)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from .checkpoint import CheckpointError
    from .runner_cli import config_or_exit

    cfg = config_or_exit(args.config, args.cfg_options)
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint file not found: {args.checkpoint}')
    from .apis import init_model

    try:
        model = init_model(cfg, args.checkpoint)
        path = export_onnx(model, args.out, tuple(args.shape), args.dynamic, args.seed)
    except (CheckpointError, ExportError, ValueError) as err:
        raise SystemExit(f'error: {err}') from err
    print(f'wrote {path}: image float32 N x 3 x H x W RGB 0..255 -> logits N x '
          f'{_final_head(model).num_classes} x H x W; {describe_inference(model)} inference'
          + (f'; LightHamHead bases fixed from seed {args.seed}' if _ham_modules(model) else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
