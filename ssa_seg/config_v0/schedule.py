"""0.x optimiser, learning-rate policy, evaluation, checkpoint and logging settings as 1.x."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .errors import ConfigTranslationError, check_keys


def optim_wrapper(optimizer: Mapping, optimizer_config: Optional[Mapping]) -> dict:
    """``optimizer`` + ``optimizer_config`` as an ``OptimWrapper``."""
    optimizer = dict(optimizer)
    paramwise = optimizer.pop('paramwise_cfg', None)
    constructor = optimizer.pop('constructor', None)
    wrapper: Dict[str, Any] = dict(type='OptimWrapper', optimizer=optimizer)
    config = dict(optimizer_config or {})
    check_keys('optimizer_config', config, ('type', 'grad_clip'))
    if config.get('type', 'OptimizerHook') != 'OptimizerHook':
        raise ConfigTranslationError(f'optimizer_config.type={config["type"]!r} is not '
                                     'translated (only OptimizerHook)')
    wrapper['clip_grad'] = config.get('grad_clip')
    if paramwise is not None:
        wrapper['paramwise_cfg'] = paramwise
    if constructor is not None:
        wrapper['constructor'] = constructor
    return wrapper


_LR_KEYS = ('policy', 'power', 'min_lr', 'by_epoch', 'warmup', 'warmup_iters', 'warmup_ratio',
            'step', 'gamma')


def _warmup(lr: Mapping) -> dict:
    """The 0.x warm-up (always counted in iterations) as a 1.x scheduler."""
    warmup, iters = lr['warmup'], lr['warmup_iters']
    ratio = lr.get('warmup_ratio', 0.1)
    if warmup == 'linear':
        return dict(type='LinearLR', start_factor=ratio, by_epoch=False, begin=0, end=iters)
    if warmup == 'constant':
        return dict(type='ConstantLR', factor=ratio, by_epoch=False, begin=0, end=iters)
    raise ConfigTranslationError(f'lr_config.warmup={warmup!r} is not translated '
                                 "(only 'linear' and 'constant')")


def _policy(lr: Mapping, begin: int, end: int, by_epoch: bool) -> dict:
    """The 0.x main policy (``poly`` or ``step``) as a 1.x scheduler."""
    policy = lr.get('policy')
    if policy == 'poly':
        return dict(type='PolyLR', eta_min=lr.get('min_lr', 0.0), power=lr.get('power', 1.0),
                    begin=begin, end=end, by_epoch=by_epoch)
    if policy == 'step':
        step = lr['step']
        return dict(type='MultiStepLR', milestones=[step] if isinstance(step, int)
                    else list(step), gamma=lr.get('gamma', 0.1), begin=begin, end=end,
                    by_epoch=by_epoch)
    raise ConfigTranslationError(f'lr_config.policy={policy!r} is not translated '
                                 "(only 'poly' and 'step')")


def param_scheduler(lr: Mapping, end: Optional[int], by_epoch: bool) -> List[dict]:
    """``lr_config`` as ``param_scheduler``: the warm-up, then the policy up to ``end``."""
    lr = dict(lr)
    check_keys('lr_config', lr, _LR_KEYS)
    out = []
    begin = 0
    if lr.get('warmup') is not None:
        out.append(_warmup(lr))
        # 0.x warmed up over iterations; the main policy starts after them, in its own unit.
        begin = 0 if by_epoch else lr['warmup_iters']
    if end is None:
        raise ConfigTranslationError('lr_config needs runner.max_iters / max_epochs to be '
                                     'translated (the scheduler end)')
    out.append(_policy(lr, begin, end, by_epoch))
    return out


_EVAL_KEYS = ('interval', 'metric', 'save_best', 'rule', 'pre_eval', 'efficient_test',
              'gpu_collect', 'by_epoch')
_METRICS = ('mIoU', 'mDice', 'mFscore')


def evaluator(evaluation: Mapping) -> dict:
    """``evaluation`` as an ``IoUMetric`` evaluator."""
    check_keys('evaluation', evaluation, _EVAL_KEYS)
    metric = evaluation.get('metric', 'mIoU')
    metrics = [metric] if isinstance(metric, str) else list(metric)
    bad = [m for m in metrics if m not in _METRICS]
    if bad:
        raise ConfigTranslationError(f'evaluation.metric {bad} is not translated '
                                     f'(IoUMetric knows {_METRICS})')
    return dict(type='IoUMetric', iou_metrics=metrics)


_CHECKPOINT_KEYS = ('by_epoch', 'interval', 'max_keep_ckpts', 'save_optimizer', 'out_dir',
                    'save_last', 'meta', 'create_symlink')


def checkpoint_hook(ckpt: Mapping) -> dict:
    """``checkpoint_config`` as the ``CheckpointHook``'s settings."""
    check_keys('checkpoint_config', ckpt, _CHECKPOINT_KEYS)
    return {'type': 'CheckpointHook',
            **{k: v for k, v in ckpt.items() if k not in ('meta', 'create_symlink')}}


_LOGGER_BACKENDS = {'TensorboardLoggerHook': 'TensorboardVisBackend',
                    'WandbLoggerHook': 'WandbVisBackend'}


def log_settings(log: Mapping, hooks: dict, out: dict) -> None:
    """``log_config`` into ``hooks['logger']`` and the visualiser back-ends of ``out``."""
    check_keys('log_config', log, ('interval', 'hooks'))
    if 'interval' in log:
        hooks['logger'] = dict(hooks.get('logger', {'type': 'LoggerHook'}),
                               interval=log['interval'])
    for hook in log.get('hooks', []):
        kind = hook.get('type')
        if kind == 'TextLoggerHook':
            continue
        if kind not in _LOGGER_BACKENDS:
            raise ConfigTranslationError(f'log_config.hooks: {kind!r} is not translated (the '
                                         f'translator knows TextLoggerHook, '
                                         f'{", ".join(_LOGGER_BACKENDS)})')
        backend = dict(type=_LOGGER_BACKENDS[kind])
        if hook.get('init_kwargs'):
            backend['init_kwargs'] = hook['init_kwargs']
        out['vis_backends'] = list(out.get('vis_backends', [])) + [backend]
        out['visualizer'] = dict(out['visualizer'], vis_backends=out['vis_backends'])
