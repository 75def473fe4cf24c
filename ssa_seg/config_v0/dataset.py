"""0.x datasets and ``data`` as 1.x datasets and ``train/val/test_dataloader``."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from .errors import ConfigTranslationError, check_keys
from .pipeline import PipelineFacts, translate_pipeline, tta_pipeline
from .tables import DATASET_TYPES

_DATASET_KEYS = ('type', 'data_root', 'img_dir', 'ann_dir', 'split', 'pipeline',
                 'reduce_zero_label', 'img_suffix', 'seg_map_suffix', 'ignore_index',
                 'classes', 'palette', 'test_mode', 'file_client_args')
#: 0.x dataset argument -> 1.x argument, where only the name changes. ``img_dir`` and
#: ``ann_dir`` go into ``data_prefix``, ``classes`` and ``palette`` into ``metainfo``.
_RENAMED = {'split': 'ann_file'}
_SAME = ('img_suffix', 'seg_map_suffix', 'reduce_zero_label', 'ignore_index')


def _check_dataset(ds: Mapping, where: str) -> None:
    check_keys(where, ds, _DATASET_KEYS)
    kind = ds.get('type')
    if kind not in DATASET_TYPES:
        raise ConfigTranslationError(f'{where}: unknown dataset type {kind!r}; the translator '
                                     f'knows {", ".join(sorted(DATASET_TYPES))}')
    if isinstance(ds.get('img_dir'), (list, tuple)):
        raise ConfigTranslationError(f'{where}: several img_dir (a concatenation) is not '
                                     'translated; use a ConcatDataset by hand')
    if ds.get('file_client_args') not in (None, {'backend': 'disk'}):
        raise ConfigTranslationError(f'{where}: file_client_args is not translated')


def _dataset_fields(ds: Mapping) -> Dict[str, Any]:
    """Everything of a 1.x dataset but its pipeline."""
    out: Dict[str, Any] = dict(type=DATASET_TYPES[ds['type']])
    if 'data_root' in ds:
        out['data_root'] = ds['data_root']
    prefix = {new: ds[old] for old, new in (('img_dir', 'img_path'), ('ann_dir', 'seg_map_path'))
              if ds.get(old) is not None}
    if prefix:
        out['data_prefix'] = prefix
    out.update({new: ds[old] for old, new in _RENAMED.items() if ds.get(old) is not None})
    out.update({key: ds[key] for key in _SAME if key in ds})
    metainfo = {k: list(ds[k]) for k in ('classes', 'palette') if ds.get(k) is not None}
    if metainfo:
        out['metainfo'] = metainfo
    return out


def translate_dataset(ds: Mapping, *, where: str, test: bool,
                      facts: Optional[PipelineFacts] = None) -> dict:
    """A 0.x dataset dict as a 1.x one (``RepeatDataset`` wrappers included).

    ``img_dir`` / ``ann_dir`` -> ``data_prefix=dict(img_path, seg_map_path)``, ``split`` ->
    ``ann_file``, ``classes`` / ``palette`` -> ``metainfo``. ``test`` marks a val/test set: its
    pipeline gets ``LoadAnnotations`` when the set has annotations (``ann_dir``).
    """
    ds = dict(ds)
    facts = facts if facts is not None else PipelineFacts()
    if ds.get('type') == 'RepeatDataset':
        check_keys(where, ds, ('type', 'times', 'dataset'))
        return dict(type='RepeatDataset', times=ds['times'],
                    dataset=translate_dataset(ds['dataset'], where=f'{where}.dataset',
                                              test=test, facts=facts))
    _check_dataset(ds, where)
    out = _dataset_fields(ds)
    annotations = None
    if test and ds.get('ann_dir') is not None:
        annotations = ({'reduce_zero_label': ds['reduce_zero_label']}
                       if 'reduce_zero_label' in ds else {})
    out['pipeline'] = translate_pipeline(ds.get('pipeline', []), where=f'{where}.pipeline',
                                         annotations=annotations, facts=facts)
    if test and facts.tta is not None:
        out['_tta'] = tta_pipeline(facts.tta, annotations)
    return out


_DATA_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'train', 'val', 'test',
              'train_dataloader', 'val_dataloader', 'test_dataloader', 'persistent_workers',
              'shuffle')
_LOADER_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'shuffle', 'persistent_workers',
                'drop_last')


def _loader(data: Mapping, role: str, dataset: dict, iter_based: bool) -> dict:
    """The 1.x dataloader of ``role`` around ``dataset``: 0.x's per-role settings win."""
    test = role != 'train'
    overrides = dict(data.get(f'{role}_dataloader') or {})
    # 0.x validated and tested one image per GPU; it trained samples_per_gpu.
    batch = overrides.get('samples_per_gpu', 1 if test else data.get('samples_per_gpu', 2))
    workers = overrides.get('workers_per_gpu', data.get('workers_per_gpu', 2))
    if test:
        sampler = dict(type='DefaultSampler', shuffle=False)
    else:
        sampler = dict(type='InfiniteSampler' if iter_based else 'DefaultSampler',
                       shuffle=overrides.get('shuffle', data.get('shuffle', True)))
    persistent = overrides.get('persistent_workers', data.get('persistent_workers', True))
    loader = dict(batch_size=batch, num_workers=workers,
                  persistent_workers=bool(persistent) and workers > 0,
                  sampler=sampler, dataset=dataset)
    if 'drop_last' in overrides:
        loader['drop_last'] = overrides['drop_last']
    return loader


def dataloaders(data: Mapping, iter_based: bool, facts: PipelineFacts) -> dict:
    """``train/val/test_dataloader`` (and ``tta_pipeline``/``tta_model``) from 0.x ``data``.

    ``facts`` collects the training pipeline's pad and crop, and the normalisation of every
    pipeline (they must agree: 1.x normalises once, in the model).
    """
    check_keys('data', data, _DATA_KEYS)
    out = {}
    for role in ('train', 'val', 'test'):
        if data.get(role) is None:
            continue
        test = role != 'train'
        check_keys(f'data.{role}_dataloader', data.get(f'{role}_dataloader') or {},
                   _LOADER_KEYS)
        role_facts = PipelineFacts() if test else facts
        dataset = translate_dataset(data[role], where=f'data.{role}', test=test,
                                    facts=role_facts)
        tta = dataset.pop('_tta', None)
        if test:
            facts.norms += role_facts.norms
            if tta is not None:
                out['tta_pipeline'] = tta
                out['tta_model'] = dict(type='SegTTAModel')
        out[f'{role}_dataloader'] = _loader(data, role, dataset, iter_based)
    return out
