"""Evaluation as a library: a config's test set, mmsegmentation's IoU, a printable table.

    >>> from ssa_seg.evaluation import evaluate, format_table      # doctest: +SKIP
    >>> results = evaluate(init_model(cfg, ckpt), data_root='data/synthscenes')
    >>> print(format_table(results))                               # ends with 'mIoU: NN.NN'

IoU is mmsegmentation's (``IoUMetric.intersect_and_union``): per class, intersection / union
of prediction and label summed over the whole set, ignore pixels excluded; a class that
appears in neither prediction nor label has no IoU (nan) and is left out of the mean.
``python -m ssa_seg.test`` is the command-line entry point.
"""
from __future__ import annotations

import copy
import math
import os
import sys
from typing import Dict, Optional

import numpy as np

from .classifier import IGNORE_INDEX


def _set_data_root(dataset_cfg: dict, data_root: str) -> None:
    if 'datasets' in dataset_cfg:               # ConcatDataset
        for sub in dataset_cfg['datasets']:
            _set_data_root(sub, data_root)
    elif 'dataset' in dataset_cfg and 'data_root' not in dataset_cfg:   # wrappers
        _set_data_root(dataset_cfg['dataset'], data_root)
    else:
        dataset_cfg['data_root'] = data_root


def override_data_root(cfg, data_root: Optional[str]) -> None:
    """Point the test and val data sets of ``cfg`` (in place) at ``data_root``."""
    if not data_root:
        return
    for key in ('test_dataloader', 'val_dataloader'):
        if cfg.get(key) and cfg[key].get('dataset'):
            _set_data_root(cfg[key]['dataset'], data_root)


def _ignore_index(cfg) -> int:
    evaluator = cfg.get('test_evaluator') or cfg.get('val_evaluator') or {}
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for metric in metrics:
        if isinstance(metric, dict) and 'ignore_index' in metric:
            return int(metric['ignore_index'])
    return IGNORE_INDEX


def build_test_dataloader(cfg, data_root: Optional[str] = None,
                          max_images: Optional[int] = None,
                          num_workers: Optional[int] = None):
    """The config's test dataloader (its val dataloader if it has none), optionally on
    another ``data_root`` and cut to the first ``max_images`` images."""
    from mmengine.registry import DATASETS, init_default_scope
    from mmengine.runner import Runner

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    key = 'test_dataloader' if cfg.get('test_dataloader') else 'val_dataloader'
    if not cfg.get(key):
        raise ValueError('the config has neither a test_dataloader nor a val_dataloader')
    loader_cfg = copy.deepcopy(cfg[key])
    loader_cfg = loader_cfg.to_dict() if hasattr(loader_cfg, 'to_dict') else dict(loader_cfg)
    if data_root:
        _set_data_root(loader_cfg['dataset'], data_root)
    dataset = DATASETS.build(loader_cfg['dataset'])
    if max_images is not None:
        if max_images < 1:
            raise ValueError(f'max_images must be >= 1, got {max_images}')
        if max_images < len(dataset):
            dataset = dataset.get_subset(int(max_images))
    if len(dataset) == 0:
        raise ValueError('the test data set is empty (check data_root and data_prefix)')
    loader_cfg['dataset'] = dataset
    if num_workers is None and max_images is not None:
        num_workers = 0           # a small fixed subset: worker start-up costs more than it saves
    if num_workers is not None:
        loader_cfg['num_workers'] = int(num_workers)
    if not loader_cfg.get('num_workers'):
        loader_cfg['persistent_workers'] = False
    sampler = loader_cfg.get('sampler') or dict(type='DefaultSampler', shuffle=False)
    if sampler.get('type') in ('DefaultSampler', 'mmengine.DefaultSampler'):
        # No padding: with several processes every image is counted exactly once.
        sampler = dict(sampler, shuffle=False, round_up=False)
    loader_cfg['sampler'] = sampler
    return Runner.build_dataloader(loader_cfg)


def _dataset_classes(dataset, model) -> tuple:
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if not classes:
        classes = (getattr(model, 'dataset_meta', None) or {}).get('classes')
    if not classes:
        raise ValueError('cannot tell the class names: neither the data set nor the model '
                         'has dataset_meta["classes"]')
    return tuple(classes)


def _percent(x: float) -> float:
    return float(x) * 100.0


def evaluate(model, cfg=None, data_root: Optional[str] = None,
             max_images: Optional[int] = None, num_workers: Optional[int] = None,
             progress: bool = False) -> Dict:
    """Evaluate ``model`` (an mmseg segmentor in eval mode) on the config's test set.

    Args:
        model: e.g. from ``ssa_seg.apis.init_model``.
        cfg: config (path, ``Config``); defaults to ``model.cfg``.
        data_root: use the test set under this folder instead of the config's.
        max_images: evaluate only the first N images (a fixed, ordered subset). Unless
            ``num_workers`` is given this also loads data in the main process.
        num_workers: dataloader workers (default: the config's).
        progress: show a progress bar (on stderr).

    Returns a dict, all numbers in percent: ``per_class`` {name: IoU}, ``per_class_acc``
    {name: accuracy}, ``mIoU``, ``mAcc``, ``aAcc`` and ``num_images``. Classes that appear
    neither in the labels nor in the predictions have IoU nan and are not averaged.
    Under ``torch.distributed`` every process evaluates its share and all get the totals.
    """
    import torch
    from mmseg.evaluation import IoUMetric

    if cfg is None:
        cfg = getattr(model, 'cfg', None)
        if cfg is None:
            raise ValueError('evaluate() needs a config: pass cfg or use a model from init_model')
    elif isinstance(cfg, (str, os.PathLike)):
        from ssa_seg.apis import load_config
        cfg = load_config(cfg)

    loader = build_test_dataloader(cfg, data_root, max_images, num_workers)
    classes = _dataset_classes(loader.dataset, model)
    num_classes = len(classes)
    ignore_index = _ignore_index(cfg)
    device = next(model.parameters()).device
    totals = torch.zeros(4, num_classes, dtype=torch.float64)  # intersect, union, pred, label
    num_images = 0

    bar = None
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    if progress and rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=len(loader.dataset), desc='evaluating', unit='img',
                   dynamic_ncols=True, file=sys.stderr)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in loader:
                for sample in model.test_step(batch):
                    pred = sample.pred_sem_seg.data.squeeze(0)
                    label = sample.gt_sem_seg.data.squeeze(0).to(pred)
                    if pred.shape != label.shape:
                        raise ValueError(f'prediction {tuple(pred.shape)} and label '
                                         f'{tuple(label.shape)} differ in size ({sample.img_path})')
                    areas = IoUMetric.intersect_and_union(pred, label, num_classes, ignore_index)
                    totals += torch.stack([a.double().cpu() for a in areas])
                    num_images += 1
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)

    if torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        images = torch.tensor([float(num_images)], dtype=torch.float64)
        counts = torch.cat([totals.flatten(), images])
        counts = counts.to(device)
        torch.distributed.all_reduce(counts)
        counts = counts.cpu()
        totals, num_images = counts[:-1].view(4, num_classes), int(counts[-1].item())

    intersect, union, _, label_area = totals.numpy()
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, intersect / union, np.nan)
        acc = np.where(label_area > 0, intersect / label_area, np.nan)
    all_acc = intersect.sum() / label_area.sum() if label_area.sum() > 0 else float('nan')
    return dict(
        per_class={name: _percent(v) for name, v in zip(classes, iou)},
        per_class_acc={name: _percent(v) for name, v in zip(classes, acc)},
        mIoU=_percent(np.nanmean(iou)) if np.isfinite(iou).any() else float('nan'),
        mAcc=_percent(np.nanmean(acc)) if np.isfinite(acc).any() else float('nan'),
        aAcc=_percent(all_acc),
        num_images=num_images,
    )


def _fmt(x: float) -> str:
    return 'nan' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{x:.2f}'


def format_table(results: Dict) -> str:
    """The per-class table (class, IoU, Acc) and the summary; ends with ``mIoU: NN.NN``."""
    names = list(results['per_class'])
    width = max([len('Class')] + [len(n) for n in names])
    rule = '+' + '-' * (width + 2) + '+--------+--------+'
    lines = [rule, f'| {"Class":<{width}} |    IoU |    Acc |', rule]
    for name in names:
        lines.append(f'| {name:<{width}} | {_fmt(results["per_class"][name]):>6} | '
                     f'{_fmt(results["per_class_acc"][name]):>6} |')
    lines.append(rule)
    lines.append(f'images: {results["num_images"]}  aAcc: {_fmt(results["aAcc"])}  '
                 f'mAcc: {_fmt(results["mAcc"])}')
    lines.append(f'mIoU: {_fmt(results["mIoU"])}')
    return '\n'.join(lines)
