"""Reading and writing checkpoints, always with ``torch.load(..., weights_only=True)``.

A checkpoint is data, never code. Accepted layouts:
* this project's and mmsegmentation's: ``{'state_dict': ..., 'meta': ...}``;
* reference SSA-Seg checkpoints (mmsegmentation 0.x): the same, keys possibly prefixed
  ``module.`` (saved from DataParallel); the head keys are already ours (see models/ssa_head);
* mmengine Runner checkpoints (with optimizer and message hub):
  see :func:`allow_runner_checkpoints`;
* a bare state dict.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import torch
from torch import nn

logger = logging.getLogger(__name__)

# Entries that reference SSA-Seg (mmseg 0.x) checkpoints hold for training only: the loss
# module's class-weight buffer, the ground-truth teacher and the auxiliary head. A model built
# for inference may lack them; they are ignored (and named), every other key stays strict.
_HEAD = r'decode_head\.(?:\d+\.)?'
TRAINING_ONLY_KEYS = re.compile(
    rf'^(?:{_HEAD}(?:ssa_loss\.|gt_center_(?:content_proj|pos_proj|proj)\.)|auxiliary_head\.)')
# Parameters the SSA classifier adds to a head; a checkpoint lacking exactly these is a
# vanilla-head checkpoint.
_SSA_PARAMETER = re.compile(
    rf'^{_HEAD}(?:get_feat_pos|center_pos|center_content_proj|center_pos_proj|center_proj'
    r'|gt_center_content_proj|gt_center_pos_proj|gt_center_proj)\.')


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable or does not fit the model."""


def allow_runner_checkpoints() -> None:
    """Allow-list exactly the non-tensor content of mmengine 0.10.7 Runner checkpoints.

    Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and mmengine cannot read
    back what its own Runner wrote (``--resume``, ``load_from``): the message hub stores
    ``HistoryBuffer`` objects holding numpy arrays, and pickles their statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Rather than ever loading with ``weights_only=False``,
    these types are declared safe, once, here; ``getattr`` is mapped to a function that only
    returns those registered methods, because a free ``getattr`` would reach anything.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    def history_buffer_method(owner, name):
        allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
        if owner is HistoryBuffer and name in allowed:
            return getattr(owner, name)
        raise pickle.UnpicklingError(f'refused getattr({owner!r}, {name!r}) in a checkpoint')

    dtypes = {type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool')}
    torch.serialization.add_safe_globals([
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        *dtypes,
        np._core.multiarray._reconstruct,
        np._core.multiarray.scalar,
        (history_buffer_method, '__builtin__.getattr'),
        (history_buffer_method, 'builtins.getattr'),
    ])


def read_checkpoint(path: str | os.PathLike) -> Dict[str, Any]:
    """Load a checkpoint file as a dict, with a clear error for anything else."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint not found: {path}')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'{path} holds objects that are not plain weights, so it is refused '
            f'(loaded with weights_only=True): {str(err).splitlines()[0]}') from None
    except Exception as err:  # noqa: BLE001  (on garbage the unpickler raises anything)
        first_line = str(err).splitlines()[0] if str(err) else 'empty'
        raise CheckpointError(f'{path} is not a PyTorch checkpoint '
                              f'({type(err).__name__}: {first_line})') from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f'{path} is not a checkpoint: it holds a {type(obj).__name__}, '
                              'not a dict of weights')
    return dict(obj)


def state_dict_of(checkpoint: Mapping[str, Any]) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """(state dict without any ``module.`` prefix, meta dict) of a loaded checkpoint."""
    if 'state_dict' in checkpoint:
        state = checkpoint['state_dict']
    elif 'model' in checkpoint and isinstance(checkpoint['model'], Mapping):
        state = checkpoint['model']
    else:
        state = checkpoint
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError('checkpoint has no state dict of tensors')
    out = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                      for k, v in state.items())
    meta = checkpoint.get('meta') or {}
    return out, dict(meta) if isinstance(meta, Mapping) else {}


def _listing(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def training_only_keys(keys: Iterable[str]) -> List[str]:
    """The keys among ``keys`` that reference checkpoints hold for training only."""
    return sorted(k for k in keys if TRAINING_ONLY_KEYS.match(k))


def load_weights(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load a checkpoint into ``model`` strictly; returns the checkpoint's meta dict.

    Training-only entries of reference checkpoints (:data:`TRAINING_ONLY_KEYS`) that the
    model does not have are ignored and logged; the meta then lists them under
    ``'ignored_keys'``. Fails with a :class:`CheckpointError` that names missing, unexpected
    and mis-shaped keys, and says so when the file is a vanilla-head checkpoint.
    """
    state, meta = state_dict_of(read_checkpoint(path))
    own = model.state_dict()
    ignored = training_only_keys(set(state) - set(own))
    for key in ignored:
        del state[key]
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    wrong_shape = {k for k in set(own) & set(state) if own[k].shape != state[k].shape}
    if missing or unexpected or wrong_shape:
        lines = [f'checkpoint {os.fspath(path)} does not fit the model:']
        if missing and not unexpected and all(_SSA_PARAMETER.match(k) for k in missing):
            lines.append('  it has no SSA-Seg classifier parameters: it is a vanilla-head '
                         '(baseline) checkpoint; load it with the baseline config, the same '
                         'decode head type without the "_ssa" suffix')
        if missing:
            lines.append(f'  missing keys ({len(missing)}): {_listing(missing)}')
        if unexpected:
            lines.append(f'  unexpected keys ({len(unexpected)}): {_listing(unexpected)}')
        if wrong_shape:
            shapes = [f'{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                      for k in sorted(wrong_shape)[:8]]
            lines.append(f'  shape mismatches ({len(wrong_shape)}): ' + '; '.join(shapes))
        raise CheckpointError('\n'.join(lines))
    model.load_state_dict(state, strict=True)
    if ignored:
        logger.info('ignored %d training-only keys of %s: %s', len(ignored), os.fspath(path),
                    _listing(ignored))
        meta['ignored_keys'] = ignored
    return meta


def save_weights(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` (weights only, loadable with weights_only)."""
    state = OrderedDict((k, v.detach().cpu().contiguous()) for k, v in model.state_dict().items())
    torch.save({'state_dict': state, 'meta': dict(meta or {})}, os.fspath(path))
