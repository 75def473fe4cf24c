"""The whole 0.x config as 1.x: one function per 0.x section, run in the order of :data:`SECTIONS`.

Each section reads its 0.x keys from ``state.src`` and writes 1.x keys into ``state.out``
(which starts as this project's runtime base). What a later section needs from an earlier one
is a named field of :class:`Translation` (the train loop's type and end, the pipelines' facts),
so the order of the table is the only order there is. Keys are written in the order the
sections run, which is the order of the translated config file.
"""
from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from typing import Any, Callable, FrozenSet, Mapping, Optional, Tuple

from .dataset import dataloaders
from .errors import ConfigTranslationError, check_keys
from .model import norm_settings, replace_sync_bn, translate_model
from .pipeline import PipelineFacts
from .schedule import checkpoint_hook, evaluator, log_settings, optim_wrapper, param_scheduler
from .tables import CONSUMED, DROPPED, HELPER_VARIABLES
from .walk import plain

RUNTIME_BASE = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'configs', '_base_',
                            'default_runtime.py')


@functools.lru_cache(maxsize=1)
def _runtime_defaults_cached() -> dict:
    from mmengine.config import Config

    return plain(Config.fromfile(RUNTIME_BASE, import_custom_modules=False).to_dict())


def _runtime_defaults() -> dict:
    """This project's 1.x runtime (``configs/_base_/default_runtime.py``), a fresh copy."""
    return copy.deepcopy(_runtime_defaults_cached())


@dataclass
class Translation:
    """A translation under way: the 0.x source, the 1.x result, and what sections hand on."""

    src: dict
    out: dict
    facts: PipelineFacts = field(default_factory=PipelineFacts)   # from the data section
    iter_based: bool = True               # IterBasedRunner (else EpochBasedRunner)
    end: Optional[int] = None             # max_iters or max_epochs
    train_loop: Optional[dict] = None     # 1.x train_cfg, when the config has a runner
    helpers_had_sync_bn: bool = False


# ---------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------
def _helper_variables(state: Translation) -> None:
    """Helper variables first, so the 1.x structure written later wins on any clash."""
    src, out = state.src, state.out
    for key in [k for k in src if k in HELPER_VARIABLES]:
        out[key], had_sync_bn = replace_sync_bn(src[key])
        state.helpers_had_sync_bn |= had_sync_bn
    imports = list((out.get('custom_imports') or {}).get('imports', []))
    if 'ssa_seg' not in imports:
        imports.append('ssa_seg')
    out['custom_imports'] = dict(out.get('custom_imports') or {}, imports=imports,
                                 allow_failed_imports=False)


def _train_loop(state: Translation) -> None:
    """``runner`` (or ``total_iters``): the loop type and end that data and schedule need."""
    src = state.src
    runner = dict(src.get('runner') or {})
    if not runner and src.get('total_iters'):
        runner = dict(type='IterBasedRunner', max_iters=src['total_iters'])
    check_keys('runner', runner, ('type', 'max_iters', 'max_epochs'))
    state.iter_based = runner.get('type', 'IterBasedRunner') == 'IterBasedRunner'
    if runner and runner.get('type') not in ('IterBasedRunner', 'EpochBasedRunner'):
        raise ConfigTranslationError(f'runner.type={runner.get("type")!r} is not translated')
    state.end = runner.get('max_iters') if state.iter_based else runner.get('max_epochs')
    if runner:
        if state.end is None:
            raise ConfigTranslationError('runner has no max_iters / max_epochs')
        state.train_loop = (dict(type='IterBasedTrainLoop', max_iters=state.end)
                            if state.iter_based
                            else dict(type='EpochBasedTrainLoop', max_epochs=state.end))


def _data(state: Translation) -> None:
    """``data``: the dataloaders (and TTA); the pipelines' facts are kept for the model."""
    if state.src.get('data') is not None:
        state.out.update(dataloaders(state.src['data'], state.iter_based, state.facts))


def _evaluation(state: Translation) -> None:
    """``evaluation``: train_cfg's val_interval, the evaluators, ``save_best``; loops without
    a dataloader are removed."""
    out = state.out
    evaluation = dict(state.src.get('evaluation') or {})
    if state.train_loop is not None:
        out['train_cfg'] = dict(state.train_loop)
        if 'interval' in evaluation:
            out['train_cfg']['val_interval'] = evaluation['interval']
    else:
        out.pop('train_cfg', None)
    for role in ('val', 'test'):
        if f'{role}_dataloader' not in out:
            for key in (f'{role}_cfg', f'{role}_evaluator'):
                out.pop(key, None)
    if not evaluation:
        return
    for key in ('val_evaluator', 'test_evaluator'):
        if key in out:
            out[key] = evaluator(evaluation)
    if evaluation.get('save_best'):
        checkpoint = out['default_hooks']['checkpoint']
        checkpoint['save_best'] = evaluation['save_best']
        if 'rule' in evaluation:
            checkpoint['rule'] = evaluation['rule']


def _model(state: Translation) -> None:
    """``model`` (its old top-level train_cfg / test_cfg, from early 0.x, go inside it), with
    a data preprocessor from the normalisation, padding and crop the pipelines had."""
    src = state.src
    if 'model' not in src:
        raise ConfigTranslationError('the 0.x config has no model')
    model = dict(src['model'])
    for key in ('train_cfg', 'test_cfg'):
        if src.get(key) is not None:
            if model.get(key) not in (None, {}):
                raise ConfigTranslationError(f'both model.{key} and a top-level {key}')
            model[key] = src[key]
    norm = norm_settings(state.facts, src.get('img_norm_cfg'))
    # The training batch size: what 0.x padded to (Pad), else its crop, else the crop_size
    # variable (a child config may redefine the variable without rebuilding the pipeline).
    pad = state.facts.pad
    crop = (pad or {}).get('size') or state.facts.crop_size or src.get('crop_size')
    state.out['model'], had_sync_bn = translate_model(model, norm=norm, pad=pad,
                                                      crop_size=crop)
    if had_sync_bn or state.helpers_had_sync_bn:
        state.out['sync_bn'] = 'torch'   # a distributed run turns BN back into SyncBN


def _optimizer(state: Translation) -> None:
    """``optimizer`` and ``optimizer_config``: the ``optim_wrapper``."""
    src = state.src
    if src.get('optimizer') is not None:
        state.out['optim_wrapper'] = optim_wrapper(src['optimizer'],
                                                   src.get('optimizer_config'))
    elif src.get('optimizer_config'):
        raise ConfigTranslationError('optimizer_config without optimizer')


def _lr_config(state: Translation) -> None:
    """``lr_config``: the ``param_scheduler``, ending where the train loop ends."""
    if state.src.get('lr_config') is not None:
        state.out['param_scheduler'] = param_scheduler(state.src['lr_config'], state.end,
                                                       not state.iter_based)


def _hooks(state: Translation) -> None:
    """``checkpoint_config`` and ``log_config``: the default hooks, counted like the loop."""
    src, out = state.src, state.out
    hooks = out['default_hooks']
    if not state.iter_based:
        hooks['checkpoint']['by_epoch'] = True
        hooks['logger']['log_metric_by_epoch'] = True
        out['log_processor'] = dict(out.get('log_processor', {}), by_epoch=True)
    if src.get('checkpoint_config') is not None:
        hooks['checkpoint'] = dict(hooks['checkpoint'],
                                   **checkpoint_hook(src['checkpoint_config']))
    if src.get('log_config') is not None:
        log_settings(src['log_config'], hooks, out)


def _environment(state: Translation) -> None:
    """``cudnn_benchmark``, ``dist_params``, ``resume_from``, ``seed``."""
    src, out = state.src, state.out
    env = dict(out.get('env_cfg') or {})
    if 'cudnn_benchmark' in src:
        env['cudnn_benchmark'] = bool(src['cudnn_benchmark'])
    if src.get('dist_params'):
        env['dist_cfg'] = dict(src['dist_params'])
    out['env_cfg'] = env
    if src.get('resume_from'):
        out['load_from'] = src['resume_from']
        out['resume'] = True
    if src.get('seed') is not None:
        out['randomness'] = dict(out.get('randomness') or {}, seed=src['seed'])


#: (0.x top-level keys, the section that translates them), in the order they run: the train
#: loop before the data (samplers) and the schedule (its end), the data before the
#: evaluation (which loops exist) and the model (normalisation, padding and crop).
SECTIONS: Tuple[Tuple[FrozenSet[str], Callable[[Translation], None]], ...] = (
    (HELPER_VARIABLES, _helper_variables),
    (frozenset({'runner', 'total_iters'}), _train_loop),
    (frozenset({'data'}), _data),
    (frozenset({'evaluation'}), _evaluation),
    (frozenset({'model', 'train_cfg', 'test_cfg'}), _model),
    (frozenset({'optimizer', 'optimizer_config'}), _optimizer),
    (frozenset({'lr_config'}), _lr_config),
    (frozenset({'checkpoint_config', 'log_config'}), _hooks),
    (frozenset({'cudnn_benchmark', 'dist_params', 'resume_from', 'seed'}), _environment),
)

#: Every top-level key a 0.x config may have: translated, consumed by a section (the
#: normalisation and pipeline variables), or dropped with a reason (:data:`DROPPED`).
KNOWN_KEYS = frozenset().union(*(keys for keys, _ in SECTIONS)) | CONSUMED | {
    k for k in DROPPED if '.' not in k}


def translate_config(cfg: Mapping[str, Any]) -> dict:
    """A merged 0.x config (``_base_`` chain resolved, e.g. ``Config.fromfile(...).to_dict()``)
    as a complete 1.x config dict, runnable by mmengine's Runner.

    Raises :class:`ConfigTranslationError` naming whatever it does not understand.
    """
    src = plain(cfg)
    unknown = [k for k in src if k not in KNOWN_KEYS]
    if unknown:
        raise ConfigTranslationError(
            f'unknown top-level key(s) in the 0.x config: {", ".join(map(repr, unknown))}. '
            'Translate them to 1.x by hand, or remove them if they do not matter '
            '(see ssa_seg.config_v0.DROPPED and HELPER_VARIABLES)')
    state = Translation(src, _runtime_defaults())
    for _, translate in SECTIONS:
        translate(state)
    return state.out
