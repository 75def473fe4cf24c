"""Reference fixtures: numbers from the unmodified SSA-Seg code (github xwmaxwma/SSA-Seg).

``tests/fixtures/reference/`` holds, per reference config NAME, the checkpoint's keys with
shapes (``NAME.keys.txt``), exact integer buffers, aliased-key groups, the meta (seed, input
size, classes) and the expected logits at 4096 sampled positions plus the argmax map. The
weights are a deterministic function of (key, shape, seed), the fill rule
``ssa-ref-keyfill-v1`` implemented here, so any checkpoint of the fixture, at any seed, can be
regenerated without shipping it.

The forward convention: load first, then ``eval()``; the input is
``randn(1, 3, H, W, generator=manual_seed(S))`` fed unnormalised to ``encode_decode``, with
``torch.manual_seed(S)`` immediately before (SegNeXt's Ham head draws random bases).
Agreement: ``|ours - ref| <= 1e-4 * max(1, max_abs)`` at the sampled positions and for the
per-class means; argmax agreement >= 99.9%.
"""
from __future__ import annotations

import ast
import json
import math
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

FIXTURE_DIR = Path(__file__).parent / 'fixtures' / 'reference'
FILL_RULE = 'ssa-ref-keyfill-v1'
TOLERANCE = 1e-4
MIN_ARGMAX_AGREEMENT = 0.999


def fixture_names() -> List[str]:
    return [row['name'] for row in json.loads((FIXTURE_DIR / 'index.json').read_text())['fixtures']]


def fixture_meta(name: str) -> dict:
    return json.loads((FIXTURE_DIR / f'{name}.meta.json').read_text())


def fixture_keys(name: str) -> List[Tuple[str, Tuple[int, ...], str, str]]:
    """[(key, shape, dtype name, usage)] in the reference state-dict order."""
    rows = []
    for line in (FIXTURE_DIR / f'{name}.keys.txt').read_text().splitlines():
        if line:
            key, shape, dtype, usage = line.split('\t')
            rows.append((key, tuple(ast.literal_eval(shape)), dtype, usage))
    return rows


def _fill(key: str, shape: Tuple[int, ...], dtype: torch.dtype, seed: int,
          int_buffers: Dict[str, torch.Tensor]) -> torch.Tensor:
    """One entry under the fill rule: each key draws from its own generator."""
    if not dtype.is_floating_point:
        if key.endswith('num_batches_tracked'):
            return torch.ones(shape, dtype=dtype)
        return int_buffers[key].to(dtype).clone()
    g = torch.Generator().manual_seed((seed * 1000003 + zlib.crc32(key.encode())) % 2 ** 63)
    if key.endswith('.running_mean'):
        value = torch.randn(shape, generator=g) * 0.1
    elif key.endswith('.running_var'):
        value = torch.rand(shape, generator=g) + 0.5
    elif len(shape) >= 2 and key.endswith('weight'):
        value = torch.randn(shape, generator=g) / math.sqrt(max(1, shape[1] * math.prod(shape[2:])))
    elif len(shape) == 1 and key.endswith('.weight'):
        value = torch.rand(shape, generator=g) + 0.5
    elif len(shape) == 1 and key.endswith('.bias'):
        value = torch.randn(shape, generator=g) * 0.1
    else:
        value = torch.randn(shape, generator=g) * 0.2
    return value.to(dtype)


def make_checkpoint(name: str, seed: Optional[int] = None) -> dict:
    """``{'state_dict', 'meta'}`` exactly as the reference model of ``name`` would save it
    (reference key names and order, mmseg 0.x meta with CLASSES and PALETTE)."""
    meta = fixture_meta(name)
    assert meta.get('fill_rule', FILL_RULE) == FILL_RULE, meta.get('fill_rule')
    seed = int(meta['seed']) if seed is None else seed
    int_path = FIXTURE_DIR / f'{name}.int_buffers.pt'
    int_buffers = torch.load(int_path, weights_only=True) if int_path.exists() else {}
    groups = json.loads((FIXTURE_DIR / f'{name}.shared.json').read_text()).get('groups', [])
    # Aliased keys (one tensor in the reference model) take the value of the group's smallest key.
    representative = {key: min(group) for group in groups for key in group}
    shapes = {key: (shape, getattr(torch, dtype)) for key, shape, dtype, _ in fixture_keys(name)}
    state = OrderedDict()
    for key in shapes:
        source = representative.get(key, key)
        state[key] = _fill(source, shapes[source][0], shapes[source][1], seed, int_buffers)
    return {'state_dict': state,
            'meta': {'CLASSES': list(meta['CLASSES']),
                     'PALETTE': [list(p) for p in meta['PALETTE']]}}


def load_fixture_checkpoint(model, name: str, tmp_path: Path, seed: Optional[int] = None) -> dict:
    """Load fixture ``name``'s checkpoint (at ``seed``) into ``model`` the way users load one:
    written with ``torch.save`` to ``tmp_path``, read by ``ssa_seg.checkpoint.load_weights``
    (strict; training-only keys named, not loaded); then ``model.eval()``. Returns the meta."""
    from ssa_seg.checkpoint import load_weights

    path = Path(tmp_path) / f'{name}.pth'
    torch.save(make_checkpoint(name, seed), path)
    meta = load_weights(model, path)
    model.eval()
    return meta


def reference_input(seed: int, size: Tuple[int, int]) -> torch.Tensor:
    return torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def reference_logits(model, seed: int, size: Tuple[int, int]) -> torch.Tensor:
    """1 x K x H x W logits by the fixtures' convention (model already loaded and in eval)."""
    x = reference_input(seed, size)
    h, w = size
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), scale_factor=1.0, flip=False)
    torch.manual_seed(seed)
    return model.encode_decode(x, [meta])


def compare_to_fixture(logits: torch.Tensor, name: str) -> Dict[str, float]:
    """Relative errors at the sampled positions and of the per-class means, argmax agreement."""
    expect = torch.load(FIXTURE_DIR / f'{name}.expect.pt', weights_only=True)
    scale = max(1.0, float(expect['max_abs']))
    flat = logits.reshape(-1)
    return dict(
        err_samples=float((flat[expect['idx']] - expect['values']).abs().max()) / scale,
        err_means=float((logits.mean(dim=(0, 2, 3)) - expect['channel_means']).abs().max()) / scale,
        agreement=float((logits.argmax(1)[0] == expect['argmax'].long()).float().mean()),
    )


def assert_matches_fixture(logits: torch.Tensor, name: str) -> Dict[str, float]:
    result = compare_to_fixture(logits, name)
    assert result['err_samples'] <= TOLERANCE, result
    assert result['err_means'] <= TOLERANCE, result
    assert result['agreement'] >= MIN_ARGMAX_AGREEMENT, result
    return result
