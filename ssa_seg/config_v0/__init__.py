"""Translate mmsegmentation 0.x configs (the reference SSA-Seg's format) to mmsegmentation 1.x.

Every config this project opens goes through ``ssa_seg.apis.load_config``. When the config,
with its ``_base_`` chain already merged by mmengine, *looks like* 0.x (see
:func:`is_v0_config`), it is translated here at load time, so a reference config file opens
directly in ``init_model``, ``python -m ssa_seg.train`` and ``python -m ssa_seg.test``.
``python -m ssa_seg.convert_config REF.py OUT.py`` writes the translation to a file.

All functions are pure: they take plain dicts (a merged config) and return new ones (the only
file read is this project's runtime base, below).

What is translated, top level (0.x -> 1.x):

=======================  ===============================================================
``model``                kept; every ``SyncBN`` (anywhere, nested) becomes ``BN`` (one
                         CPU process has no process group) and ``sync_bn='torch'`` is set so
                         that a distributed run converts back; a ``SegDataPreProcessor`` is
                         added from the normalisation (``img_norm_cfg`` / ``Normalize``), the
                         training ``Pad`` values and ``crop_size``. ``pretrained`` and
                         ``init_cfg`` are kept; ``test_cfg`` (whole / slide) is kept.
``data``                 ``train_dataloader`` / ``val_dataloader`` / ``test_dataloader``;
                         datasets get ``data_prefix`` / ``ann_file`` / ``metainfo``,
                         pipelines are translated transform by transform; a
                         ``MultiScaleFlipAug`` with flip or several ratios also gives a
                         ``tta_pipeline`` and ``tta_model``.
``evaluation``           ``val_evaluator`` / ``test_evaluator`` (``IoUMetric``), the
                         validation interval, ``save_best``.
``optimizer``,           ``optim_wrapper`` (``OptimWrapper``, ``paramwise_cfg``,
``optimizer_config``     ``constructor``, ``clip_grad``).
``lr_config``            ``param_scheduler`` (``LinearLR`` / ``ConstantLR`` warm-up, then
                         ``PolyLR`` or ``MultiStepLR``).
``runner``               ``train_cfg`` (``IterBasedTrainLoop`` / ``EpochBasedTrainLoop``).
``checkpoint_config``    ``default_hooks.checkpoint``.
``log_config``           ``default_hooks.logger`` and visualiser back-ends.
``dist_params``,         ``env_cfg``.
``cudnn_benchmark``
``resume_from``          ``load_from`` + ``resume=True``.
``seed``                 ``randomness.seed``.
=======================  ===============================================================

Keys that carry nothing at 1.x are dropped; they are all in :data:`DROPPED` with the reason.
Helper variables of the reference configs (``norm_cfg``, ``crop_size``, ...) are in
:data:`HELPER_VARIABLES` and are kept (``SyncBN`` -> ``BN`` applied). Anything else, an
unknown top-level key, a pipeline transform or an argument this module does not know, raises
:class:`ConfigTranslationError` naming it: nothing is dropped silently.

The rest of the 1.x runtime (hooks, visualiser, loops, ``default_scope``) comes from this
project's ``ssa_seg/configs/_base_/default_runtime.py``, so translated configs run like the
project's own. Overrides (``--cfg-options``) on 0.x-only keys (``data.*``, ``runner.*``, ...)
are applied before the translation, all others after it (:func:`split_options`).
"""
from __future__ import annotations

import copy
import functools
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ['ConfigTranslationError', 'DATASET_TYPES', 'DROPPED', 'HELPER_VARIABLES',
           'is_v0_config', 'missing_pretrained', 'pretrained_weights', 'replace_sync_bn',
           'split_options', 'strip_pretrained', 'translate_config', 'translate_dataset',
           'translate_model', 'translate_pipeline']


class ConfigTranslationError(ValueError):
    """A 0.x config holds something the translator does not understand (named in the message)."""


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------
#: Everything the translator drops on purpose, with the reason. Dotted names are sub-keys.
DROPPED: Dict[str, str] = {
    'workflow': "mmengine's train loop validates by train_cfg.val_interval; no workflow list",
    'gpu_ids': 'the launcher chooses devices in mmengine',
    'device': 'mmengine picks the device',
    'optimizer_config.type': "'OptimizerHook' is the OptimWrapper's default behaviour",
    'evaluation.pre_eval': 'IoUMetric always accumulates per image (what pre_eval did)',
    'evaluation.efficient_test': 'IoUMetric always accumulates per image',
    'evaluation.gpu_collect': "the evaluator's collection is mmengine's concern",
    'evaluation.by_epoch': 'follows the train loop (runner) type',
    'checkpoint_config.meta': 'mmengine writes its own checkpoint meta',
    'checkpoint_config.create_symlink': 'mmengine keeps a last_checkpoint file instead',
    'lr_config.by_epoch': 'follows the train loop (runner) type',
    'log_config.hooks.TextLoggerHook': "mmengine's LoggerHook always writes text logs",
    'data.*.test_mode': "the 1.x dataloaders know their role; BaseSegDataset's default is used",
    'pipeline.DefaultFormatBundle': 'PackSegInputs formats the sample',
    'pipeline.ImageToTensor': 'PackSegInputs formats the sample',
    'pipeline.Normalize': "moved into model.data_preprocessor (SegDataPreProcessor)",
    'pipeline.Pad': "training padding moved into model.data_preprocessor (size, pad values)",
    'pipeline.MultiScaleFlipAug.RandomFlip': 'a no-op without flip (flip=True becomes a '
                                             'tta_pipeline)',
    'pipeline.Collect.meta_keys': 'PackSegInputs packs the 1.x meta keys',
    "file_client_args={'backend': 'disk'}": 'the 1.x default (local files); any other value '
                                            'raises',
}

#: Plain variables of the reference configs: Python already put their values where the config
#: used them. They are kept as they are (with SyncBN -> BN), as 1.x configs have them too.
HELPER_VARIABLES = frozenset({
    'norm_cfg', 'ham_norm_cfg', 'backbone_norm_cfg', 'checkpoint', 'checkpoint_file',
    'pretrained', 'model_cfgs', 'EfficientFormer_width', 'EfficientFormer_depth',
    'EfficientFormer_expansion_ratios', 'crop_size', 'img_scale', 'img_ratios',
    'dataset_type', 'data_root', 'find_unused_parameters', 'log_level', 'load_from',
    'custom_imports',
})

#: Variables whose content is read into the 1.x structure (and then not kept).
CONSUMED = frozenset({'img_norm_cfg', 'train_pipeline', 'test_pipeline'})

#: 0.x dataset type -> 1.x dataset type (same METAINFO: class names and palette).
#: COCOStuffDataset is the 171-class set in both versions (COCO-Stuff 164k and 10k; the
#: reference coco10k configs use num_classes=171).
DATASET_TYPES: Dict[str, str] = {
    'ADE20KDataset': 'ADE20KDataset',
    'COCOStuffDataset': 'COCOStuffDataset',
    'PascalContextDataset59': 'PascalContextDataset59',
    'PascalContextDataset': 'PascalContextDataset',
    'PascalVOCDataset': 'PascalVOCDataset',
    'CityscapesDataset': 'CityscapesDataset',
    'CustomDataset': 'BaseSegDataset',
}

#: Top-level keys found only in 0.x configs.
V0_MARKERS = frozenset({'data', 'img_norm_cfg', 'runner', 'lr_config', 'optimizer_config',
                        'evaluation', 'checkpoint_config', 'log_config', 'workflow',
                        'dist_params', 'resume_from', 'cudnn_benchmark', 'total_iters'})
#: Top-level keys found only in 1.x configs; one of them means the config is 1.x.
V1_MARKERS = frozenset({'train_dataloader', 'val_dataloader', 'test_dataloader',
                        'optim_wrapper', 'param_scheduler', 'default_hooks', 'val_evaluator',
                        'test_evaluator', 'default_scope', 'val_cfg', 'env_cfg'})

_URL_PREFIXES = ('http://', 'https://', 'open-mmlab://', 'torchvision://', 'mmcls://',
                 's3://', 'pavi://')


def is_v0_config(cfg: Mapping[str, Any]) -> bool:
    """True if a merged config is in the 0.x format.

    It is 0.x when it has a key only 0.x configs have (``data``, ``runner``, ``lr_config``,
    ``evaluation``, ...: :data:`V0_MARKERS`) and none that only 1.x configs have
    (``train_dataloader``, ``optim_wrapper``, ...: :data:`V1_MARKERS`). A 1.x config that keeps
    a stray 0.x key is left alone, as mmengine would ignore that key.
    """
    keys = set(cfg)
    return bool(keys & V0_MARKERS) and not keys & V1_MARKERS


#: Override keys (``--cfg-options``) with these roots name 0.x parts: they are applied to the
#: 0.x config before translation. Every other override applies to the translated 1.x config.
V0_OPTION_ROOTS = V0_MARKERS | CONSUMED | {'optimizer'}


def split_options(options: Optional[Mapping[str, Any]]) -> Tuple[dict, dict]:
    """``--cfg-options`` of a 0.x config as (before translation, after translation).

    ``data.samples_per_gpu=2`` or ``runner.max_iters=100`` speak 0.x and go before;
    ``train_cfg.max_iters=100`` or ``model.decode_head.num_classes=19`` go after.
    """
    before, after = {}, {}
    for key, value in (options or {}).items():
        (before if key.split('.')[0] in V0_OPTION_ROOTS else after)[key] = value
    return before, after


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A deep copy with mmengine ConfigDicts turned into dicts and tuples kept."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)


def _check_keys(where: str, given: Mapping[str, Any], known: Sequence[str]) -> None:
    unknown = [k for k in given if k not in known]
    if unknown:
        raise ConfigTranslationError(
            f'{where}: unknown key(s) {", ".join(map(repr, unknown))} (this translator knows '
            f'{", ".join(map(repr, known))}); translate them by hand or remove them')


def replace_sync_bn(value: Any) -> Tuple[Any, bool]:
    """``value`` with every ``dict(type='SyncBN', ...)`` turned into ``BN``, at any depth.

    Returns (new value, whether any SyncBN was found).
    """
    found = False

    def walk(v):
        nonlocal found
        if isinstance(v, Mapping):
            out = {k: walk(x) for k, x in v.items()}
            if out.get('type') == 'SyncBN':
                out['type'] = 'BN'
                found = True
            return out
        if isinstance(v, (list, tuple)):
            return type(v)(walk(x) for x in v)
        return copy.deepcopy(v)

    return walk(value), found


RUNTIME_BASE = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'configs', '_base_', 'default_runtime.py')


@functools.lru_cache(maxsize=1)
def _runtime_defaults_cached() -> dict:
    from mmengine.config import Config

    return _plain(Config.fromfile(RUNTIME_BASE, import_custom_modules=False).to_dict())


def _runtime_defaults() -> dict:
    """This project's 1.x runtime (``configs/_base_/default_runtime.py``), a fresh copy."""
    return copy.deepcopy(_runtime_defaults_cached())


# ---------------------------------------------------------------------------------------
# Pipelines
# ---------------------------------------------------------------------------------------
class _PipelineFacts:
    """What a pipeline translation learns for ``model.data_preprocessor`` and the TTA."""

    def __init__(self) -> None:
        self.norms: List[Tuple[str, dict]] = []   # (where, dict(mean, std, to_rgb))
        self.pad: Optional[dict] = None           # training Pad: size, pad_val, seg_pad_val
        self.crop_size: Optional[tuple] = None    # training RandomCrop
        self.tta: Optional[dict] = None           # flip / ratios of a MultiScaleFlipAug


def _same_args(name: str, known: Sequence[str]) -> Callable:
    """A transform whose 1.x form has the same name and arguments."""
    def convert(t: dict, where: str, facts: _PipelineFacts, **_) -> List[dict]:
        _check_keys(f'{where} {name}', {k: v for k, v in t.items() if k != 'type'}, known)
        return [dict(t)]
    return convert


def _file_args(t: dict, where: str) -> dict:
    t = dict(t)
    fca = t.pop('file_client_args', None)
    if fca not in (None, {'backend': 'disk'}):
        raise ConfigTranslationError(f'{where} {t["type"]}: file_client_args={fca!r} is not '
                                     'translated (1.x uses backend_args); set it by hand')
    return t


def _load_image(t, where, facts, **_):
    t = _file_args(t, where)
    _check_keys(f'{where} LoadImageFromFile', {k: v for k, v in t.items() if k != 'type'},
                ('to_float32', 'color_type', 'imdecode_backend'))
    return [t]


def _load_annotations(t, where, facts, **_):
    t = _file_args(t, where)
    _check_keys(f'{where} LoadAnnotations', {k: v for k, v in t.items() if k != 'type'},
                ('reduce_zero_label', 'imdecode_backend'))
    return [t]


def _is_scale(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) for v in value))


def _resize(t, where, facts, img_scale=None, in_msfa=False, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} Resize', args,
                ('img_scale', 'multiscale_mode', 'ratio_range', 'keep_ratio'))
    keep_ratio = args.get('keep_ratio', True)
    if in_msfa:   # the scale comes from MultiScaleFlipAug
        if 'img_scale' in args or 'ratio_range' in args:
            raise ConfigTranslationError(f'{where} Resize inside MultiScaleFlipAug with its '
                                         'own img_scale/ratio_range is not translated')
        return [dict(type='Resize', scale=tuple(img_scale), keep_ratio=keep_ratio)]
    scale, ratio_range = args.get('img_scale'), args.get('ratio_range')
    mode = args.get('multiscale_mode', 'range')
    if scale is None:
        raise ConfigTranslationError(f'{where} Resize without img_scale is not translated')
    if _is_scale(scale) or (isinstance(scale, (list, tuple)) and len(scale) == 1):
        scale = tuple(scale if _is_scale(scale) else scale[0])
        if ratio_range is not None:
            return [dict(type='RandomResize', scale=scale, ratio_range=tuple(ratio_range),
                         keep_ratio=keep_ratio)]
        return [dict(type='Resize', scale=scale, keep_ratio=keep_ratio)]
    scales = [tuple(s) for s in scale]
    if ratio_range is not None:
        raise ConfigTranslationError(f'{where} Resize with several img_scale and a ratio_range '
                                     'is not translated')
    if mode == 'value':
        return [dict(type='RandomChoiceResize', scales=scales, keep_ratio=keep_ratio)]
    if mode == 'range' and len(scales) == 2:
        return [dict(type='RandomResize', scale=scales, keep_ratio=keep_ratio)]
    raise ConfigTranslationError(f'{where} Resize multiscale_mode={mode!r} with {len(scales)} '
                                 'scales is not translated')


def _random_flip(t, where, facts, in_msfa=False, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} RandomFlip', args, ('prob', 'flip_ratio', 'direction'))
    if in_msfa:
        return []   # MultiScaleFlipAug decides flipping (see DROPPED)
    prob = args.get('prob', args.get('flip_ratio'))
    if prob is None:
        raise ConfigTranslationError(f'{where} RandomFlip without prob is not translated')
    out = dict(type='RandomFlip', prob=prob)
    if 'direction' in args:
        out['direction'] = args['direction']
    return [out]


def _normalize(t, where, facts, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} Normalize', args, ('mean', 'std', 'to_rgb'))
    facts.norms.append((f'{where} Normalize', dict(mean=list(args['mean']),
                                                   std=list(args['std']),
                                                   to_rgb=bool(args.get('to_rgb', True)))))
    return []


def _pad(t, where, facts, in_msfa=False, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} Pad', args, ('size', 'size_divisor', 'pad_val', 'seg_pad_val'))
    if in_msfa or 'size_divisor' in args:
        raise ConfigTranslationError(f'{where} Pad at test time or with size_divisor is not '
                                     'translated (set model.data_preprocessor by hand)')
    facts.pad = dict(size=tuple(args['size']) if args.get('size') else None,
                     pad_val=args.get('pad_val', 0), seg_pad_val=args.get('seg_pad_val', 255))
    return []


def _random_crop(t, where, facts, **_):
    _check_keys(f'{where} RandomCrop', {k: v for k, v in t.items() if k != 'type'},
                ('crop_size', 'cat_max_ratio', 'ignore_index'))
    facts.crop_size = tuple(t['crop_size'])
    return [dict(t, crop_size=tuple(t['crop_size']))]


def _drop(t, where, facts, **_):
    return []


def _collect(t, where, facts, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} Collect', args, ('keys', 'meta_keys'))
    extra = [k for k in args.get('keys', ()) if k not in ('img', 'gt_semantic_seg')]
    if extra:
        raise ConfigTranslationError(f'{where} Collect keys {extra} are not translated '
                                     "(PackSegInputs packs 'img' and 'gt_semantic_seg')")
    return [dict(type='PackSegInputs')]


def _image_to_tensor(t, where, facts, **_):
    _check_keys(f'{where} ImageToTensor', {k: v for k, v in t.items() if k != 'type'}, ('keys',))
    return []


def _multi_scale_flip_aug(t, where, facts, in_msfa=False, **_):
    args = {k: v for k, v in t.items() if k != 'type'}
    _check_keys(f'{where} MultiScaleFlipAug', args,
                ('img_scale', 'img_ratios', 'flip', 'flip_direction', 'transforms'))
    if in_msfa:
        raise ConfigTranslationError(f'{where} nested MultiScaleFlipAug is not translated')
    img_scale = args.get('img_scale')
    if not _is_scale(img_scale):
        raise ConfigTranslationError(f'{where} MultiScaleFlipAug needs one img_scale (w, h) to '
                                     f'be translated, got {img_scale!r}')
    ratios = args.get('img_ratios')
    ratios = [ratios] if isinstance(ratios, (int, float)) else list(ratios or [1.0])
    flip = bool(args.get('flip', False))
    inner: List[dict] = []
    keep_ratio = True
    for i, sub in enumerate(args.get('transforms', [])):
        if sub.get('type') == 'Resize':
            keep_ratio = sub.get('keep_ratio', True)
        inner += _convert(sub, f'{where} MultiScaleFlipAug.transforms[{i}]', facts,
                          img_scale=img_scale, in_msfa=True)
    if ratios != [1.0] or flip:
        facts.tta = dict(img_scale=tuple(img_scale), ratios=ratios, flip=flip,
                         direction=args.get('flip_direction', 'horizontal'),
                         keep_ratio=keep_ratio)
    return inner


#: 0.x transform name -> converter(transform, where, facts, **context) -> 1.x transforms.
TRANSFORMS: Dict[str, Callable[..., List[dict]]] = {
    'LoadImageFromFile': _load_image,
    'LoadAnnotations': _load_annotations,
    'Resize': _resize,
    'RandomCrop': _random_crop,
    'RandomFlip': _random_flip,
    'PhotoMetricDistortion': _same_args('PhotoMetricDistortion', (
        'brightness_delta', 'contrast_range', 'saturation_range', 'hue_delta')),
    'Normalize': _normalize,
    'Pad': _pad,
    'DefaultFormatBundle': _drop,
    'ImageToTensor': _image_to_tensor,
    'Collect': _collect,
    'MultiScaleFlipAug': _multi_scale_flip_aug,
    'ResizeToMultiple': _same_args('ResizeToMultiple', ('size_divisor', 'interpolation')),
    'RandomRotate': _same_args('RandomRotate', (
        'prob', 'degree', 'pad_val', 'seg_pad_val', 'center', 'auto_bound')),
    'CLAHE': _same_args('CLAHE', ('clip_limit', 'tile_grid_size')),
    'AdjustGamma': _same_args('AdjustGamma', ('gamma',)),
    'RGB2Gray': _same_args('RGB2Gray', ('out_channels', 'weights')),
}


def _convert(t: Mapping, where: str, facts: _PipelineFacts, **context) -> List[dict]:
    t = dict(t)
    name = t.get('type')
    if name not in TRANSFORMS:
        raise ConfigTranslationError(
            f'{where}: unknown pipeline transform {name!r}; the translator knows '
            f'{", ".join(sorted(TRANSFORMS))}')
    return TRANSFORMS[name](t, where, facts, **context)


def translate_pipeline(pipeline: Sequence[Mapping], *, where: str = 'pipeline',
                       annotations: Optional[dict] = None,
                       facts: Optional[_PipelineFacts] = None) -> List[dict]:
    """A 0.x pipeline as a 1.x one.

    ``Normalize``, ``Pad``, ``DefaultFormatBundle``, ``ImageToTensor`` disappear (the data
    preprocessor normalises and pads), ``Collect`` becomes ``PackSegInputs`` (once, last),
    ``Resize(img_scale, ratio_range)`` becomes ``RandomResize``, and a single-scale
    ``MultiScaleFlipAug(img_scale, transforms=[Resize(keep_ratio), ...])`` unrolls to
    ``Resize(scale=img_scale, keep_ratio)``. Test pipelines of 0.x never load annotations (the
    dataset did): pass ``annotations`` (the ``LoadAnnotations`` arguments) to insert
    ``LoadAnnotations`` before ``PackSegInputs``, as 1.x test pipelines do.
    """
    facts = facts if facts is not None else _PipelineFacts()
    out: List[dict] = []
    for i, t in enumerate(pipeline):
        out += _convert(t, f'{where}[{i}]', facts)
    packs = [i for i, t in enumerate(out) if t['type'] == 'PackSegInputs']
    if len(packs) > 1:
        raise ConfigTranslationError(f'{where}: more than one Collect')
    body = [t for t in out if t['type'] != 'PackSegInputs']
    has_ann = any(t['type'] == 'LoadAnnotations' for t in body)
    if annotations is not None and not has_ann:
        body.append(dict(type='LoadAnnotations', **annotations))
    return body + [dict(type='PackSegInputs')]


def _tta_pipeline(tta: dict, annotations: Optional[dict]) -> List[dict]:
    """1.x ``tta_pipeline`` equal to a 0.x MultiScaleFlipAug with ratios and/or flip.

    0.x scaled ``img_scale`` by each ratio, so the scales here are ``img_scale * ratio``.
    """
    w, h = tta['img_scale']
    resizes = [dict(type='Resize', scale=(int(w * r), int(h * r)), keep_ratio=tta['keep_ratio'])
               for r in tta['ratios']]
    steps = [resizes]
    if tta['flip']:
        steps.append([dict(type='RandomFlip', prob=0.0, direction=tta['direction']),
                      dict(type='RandomFlip', prob=1.0, direction=tta['direction'])])
    if annotations is not None:
        steps.append([dict(type='LoadAnnotations', **annotations)])
    steps.append([dict(type='PackSegInputs')])
    return [dict(type='LoadImageFromFile'), dict(type='TestTimeAug', transforms=steps)]


# ---------------------------------------------------------------------------------------
# Datasets and dataloaders
# ---------------------------------------------------------------------------------------
_DATASET_KEYS = ('type', 'data_root', 'img_dir', 'ann_dir', 'split', 'pipeline',
                 'reduce_zero_label', 'img_suffix', 'seg_map_suffix', 'ignore_index',
                 'classes', 'palette', 'test_mode', 'file_client_args')


def translate_dataset(ds: Mapping, *, where: str, test: bool,
                      facts: Optional[_PipelineFacts] = None) -> dict:
    """A 0.x dataset dict as a 1.x one (``RepeatDataset`` wrappers included).

    ``img_dir`` / ``ann_dir`` -> ``data_prefix=dict(img_path, seg_map_path)``, ``split`` ->
    ``ann_file``, ``classes`` / ``palette`` -> ``metainfo``. ``test`` marks a val/test set: its
    pipeline gets ``LoadAnnotations`` when the set has annotations (``ann_dir``).
    """
    ds = dict(ds)
    facts = facts if facts is not None else _PipelineFacts()
    if ds.get('type') == 'RepeatDataset':
        _check_keys(where, ds, ('type', 'times', 'dataset'))
        return dict(type='RepeatDataset', times=ds['times'],
                    dataset=translate_dataset(ds['dataset'], where=f'{where}.dataset',
                                              test=test, facts=facts))
    _check_keys(where, ds, _DATASET_KEYS)
    kind = ds.get('type')
    if kind not in DATASET_TYPES:
        raise ConfigTranslationError(f'{where}: unknown dataset type {kind!r}; the translator '
                                     f'knows {", ".join(sorted(DATASET_TYPES))}')
    if isinstance(ds.get('img_dir'), (list, tuple)):
        raise ConfigTranslationError(f'{where}: several img_dir (a concatenation) is not '
                                     'translated; use a ConcatDataset by hand')
    if ds.get('file_client_args') not in (None, {'backend': 'disk'}):
        raise ConfigTranslationError(f'{where}: file_client_args is not translated')
    out: Dict[str, Any] = dict(type=DATASET_TYPES[kind])
    if 'data_root' in ds:
        out['data_root'] = ds['data_root']
    prefix = {}
    if ds.get('img_dir') is not None:
        prefix['img_path'] = ds['img_dir']
    if ds.get('ann_dir') is not None:
        prefix['seg_map_path'] = ds['ann_dir']
    if prefix:
        out['data_prefix'] = prefix
    if ds.get('split') is not None:
        out['ann_file'] = ds['split']
    for key in ('img_suffix', 'seg_map_suffix', 'reduce_zero_label', 'ignore_index'):
        if key in ds:
            out[key] = ds[key]
    metainfo = {k: list(ds[k]) for k in ('classes', 'palette') if ds.get(k) is not None}
    if metainfo:
        out['metainfo'] = metainfo
    annotations = None
    if test and ds.get('ann_dir') is not None:
        annotations = ({'reduce_zero_label': ds['reduce_zero_label']}
                       if 'reduce_zero_label' in ds else {})
    out['pipeline'] = translate_pipeline(ds.get('pipeline', []), where=f'{where}.pipeline',
                                         annotations=annotations, facts=facts)
    if test and facts.tta is not None:
        out['_tta'] = _tta_pipeline(facts.tta, annotations)
    return out


_DATA_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'train', 'val', 'test',
              'train_dataloader', 'val_dataloader', 'test_dataloader', 'persistent_workers',
              'shuffle')
_LOADER_KEYS = ('samples_per_gpu', 'workers_per_gpu', 'shuffle', 'persistent_workers',
                'drop_last')


def _dataloaders(data: Mapping, iter_based: bool, facts: _PipelineFacts) -> dict:
    """``train/val/test_dataloader`` (and ``tta_pipeline``/``tta_model``) from 0.x ``data``.

    ``facts`` collects the training pipeline's pad and crop, and the normalisation of every
    pipeline (they must agree: 1.x normalises once, in the model).
    """
    _check_keys('data', data, _DATA_KEYS)
    out = {}
    for role in ('train', 'val', 'test'):
        if data.get(role) is None:
            continue
        test = role != 'train'
        overrides = dict(data.get(f'{role}_dataloader') or {})
        _check_keys(f'data.{role}_dataloader', overrides, _LOADER_KEYS)
        role_facts = _PipelineFacts() if test else facts
        dataset = translate_dataset(data[role], where=f'data.{role}', test=test,
                                    facts=role_facts)
        tta = dataset.pop('_tta', None)
        if test:
            facts.norms += role_facts.norms
            if tta is not None:
                out['tta_pipeline'] = tta
                out['tta_model'] = dict(type='SegTTAModel')
        # 0.x validated and tested one image per GPU; it trained samples_per_gpu.
        batch = overrides.get('samples_per_gpu',
                              1 if test else data.get('samples_per_gpu', 2))
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
        out[f'{role}_dataloader'] = loader
    return out


# ---------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------
def _norm_settings(facts: _PipelineFacts, img_norm_cfg: Optional[Mapping]) -> Optional[dict]:
    found = list(facts.norms)
    if img_norm_cfg is not None:
        _check_keys('img_norm_cfg', img_norm_cfg, ('mean', 'std', 'to_rgb'))
        found.insert(0, ('img_norm_cfg', dict(mean=list(img_norm_cfg['mean']),
                                               std=list(img_norm_cfg['std']),
                                               to_rgb=bool(img_norm_cfg.get('to_rgb', True)))))
    if not found:
        return None
    first_where, first = found[0]
    for where, norm in found[1:]:
        if norm != first:
            raise ConfigTranslationError(
                f'{where} ({norm}) differs from {first_where} ({first}); 1.x normalises in '
                'the model (one data_preprocessor), so they must agree')
    return first


#: Type names whose mmseg 1.x module has other state-dict keys than the reference's module of
#: the same name; a 0.x config means the reference's. (mmseg 1.x's MSCAN stores
#: ``mlp.dwconv.*`` where reference checkpoints have ``mlp.dwconv.dwconv.*``.)
V0_TYPES = {'MSCAN': 'MSCANRef'}


def _rename_types(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _rename_types(v) for k, v in value.items()}
        if out.get('type') in V0_TYPES:
            out['type'] = V0_TYPES[out['type']]
        return out
    if isinstance(value, list):
        return [_rename_types(v) for v in value]
    return value


def translate_model(model: Mapping, *, norm: Optional[Mapping] = None,
                    pad: Optional[Mapping] = None,
                    crop_size: Optional[Sequence[int]] = None) -> Tuple[dict, bool]:
    """The 0.x ``model`` dict as 1.x: SyncBN -> BN anywhere, plus a ``SegDataPreProcessor``.

    ``norm`` is ``dict(mean, std, to_rgb)``, ``pad`` the training ``Pad`` values and
    ``crop_size`` the training size (``size`` of the preprocessor, which pads training batches
    to it). ``pretrained``, ``init_cfg``, ``train_cfg`` and ``test_cfg`` (``mode='whole'`` or
    ``'slide'`` with ``crop_size`` / ``stride``) are kept as they are.
    Types in :data:`V0_TYPES` become this project's modules with the reference's keys.
    Returns (model, whether a SyncBN was replaced).
    """
    model, had_sync_bn = replace_sync_bn(_rename_types(_plain(model)))
    if 'data_preprocessor' not in model:
        pre: Dict[str, Any] = dict(type='SegDataPreProcessor')
        if norm is not None:
            pre.update(mean=list(norm['mean']), std=list(norm['std']),
                       bgr_to_rgb=bool(norm['to_rgb']))
        pad = dict(pad or {})
        pre.update(pad_val=pad.get('pad_val', 0), seg_pad_val=pad.get('seg_pad_val', 255))
        size = crop_size if crop_size is not None else pad.get('size')
        if size is not None:
            pre['size'] = tuple(size)
        # data_preprocessor right after the type, as in mmsegmentation's 1.x configs.
        model = {'type': model.get('type'), 'data_preprocessor': pre,
                 **{k: v for k, v in model.items() if k != 'type'}}
    return model, had_sync_bn


def pretrained_weights(model: Mapping) -> List[Tuple[str, str]]:
    """Pretrained-weight files a model config asks for: [(config key, path or URL)].

    Looks at ``model.pretrained``, ``model.backbone.pretrained`` and every
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` in the model, at any depth.
    """
    found: List[Tuple[str, str]] = []

    def walk(v, where):
        if isinstance(v, Mapping):
            if where.endswith('init_cfg') and v.get('type') == 'Pretrained' and v.get(
                    'checkpoint'):
                found.append((f'{where}.checkpoint', str(v['checkpoint'])))
            for k, x in v.items():
                if k == 'pretrained' and isinstance(x, str) and x:
                    found.append((f'{where}.{k}', x))
                else:
                    walk(x, f'{where}.{k}')
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, f'{where}[{i}]')
            return

    walk(model, 'model')
    return found


def strip_pretrained(model: Mapping) -> dict:
    """``model`` without its pretrained-weight requests (for when a checkpoint gives every weight).

    ``pretrained`` entries become ``None``, ``init_cfg=dict(type='Pretrained', ...)`` anywhere
    becomes ``None`` (or leaves a list of init configs), and the backbone's ``init_cfg`` is
    dropped whatever its type (nothing to initialise when weights are loaded).
    """
    def walk(v, where):
        if isinstance(v, Mapping):
            out = {}
            for k, x in v.items():
                if k == 'pretrained' and isinstance(x, str):
                    x = None
                elif k == 'init_cfg':
                    if where == 'model.backbone' or (isinstance(x, Mapping)
                                                     and x.get('type') == 'Pretrained'):
                        x = None
                    elif isinstance(x, (list, tuple)):
                        x = [i for i in x if not (isinstance(i, Mapping)
                                                  and i.get('type') == 'Pretrained')] or None
                out[k] = walk(x, f'{where}.{k}')
            return out
        if isinstance(v, (list, tuple)):
            return type(v)(walk(x, f'{where}[{i}]') for i, x in enumerate(v))
        return copy.deepcopy(v)

    return walk(_plain(model), 'model')


def missing_pretrained(model: Mapping) -> List[Tuple[str, str]]:
    """The local files of :func:`pretrained_weights` that do not exist (URLs are not checked)."""
    return [(key, path) for key, path in pretrained_weights(model)
            if not path.startswith(_URL_PREFIXES) and not os.path.isfile(path)]


# ---------------------------------------------------------------------------------------
# Schedule and runtime
# ---------------------------------------------------------------------------------------
def _optim_wrapper(optimizer: Mapping, optimizer_config: Optional[Mapping]) -> dict:
    optimizer = dict(optimizer)
    paramwise = optimizer.pop('paramwise_cfg', None)
    constructor = optimizer.pop('constructor', None)
    wrapper: Dict[str, Any] = dict(type='OptimWrapper', optimizer=optimizer)
    config = dict(optimizer_config or {})
    _check_keys('optimizer_config', config, ('type', 'grad_clip'))
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


def _param_scheduler(lr: Mapping, end: Optional[int], by_epoch: bool) -> List[dict]:
    lr = dict(lr)
    _check_keys('lr_config', lr, _LR_KEYS)
    out = []
    begin = 0
    warmup = lr.get('warmup')
    if warmup is not None:
        iters = lr['warmup_iters']
        ratio = lr.get('warmup_ratio', 0.1)
        if warmup == 'linear':
            out.append(dict(type='LinearLR', start_factor=ratio, by_epoch=False, begin=0,
                            end=iters))
        elif warmup == 'constant':
            out.append(dict(type='ConstantLR', factor=ratio, by_epoch=False, begin=0, end=iters))
        else:
            raise ConfigTranslationError(f'lr_config.warmup={warmup!r} is not translated '
                                         "(only 'linear' and 'constant')")
        # 0.x warmed up over iterations; the main policy starts after them, in its own unit.
        begin = 0 if by_epoch else iters
    policy = lr.get('policy')
    if end is None:
        raise ConfigTranslationError('lr_config needs runner.max_iters / max_epochs to be '
                                     'translated (the scheduler end)')
    if policy == 'poly':
        out.append(dict(type='PolyLR', eta_min=lr.get('min_lr', 0.0), power=lr.get('power', 1.0),
                        begin=begin, end=end, by_epoch=by_epoch))
    elif policy == 'step':
        step = lr['step']
        out.append(dict(type='MultiStepLR', milestones=[step] if isinstance(step, int)
                        else list(step), gamma=lr.get('gamma', 0.1), begin=begin, end=end,
                        by_epoch=by_epoch))
    else:
        raise ConfigTranslationError(f'lr_config.policy={policy!r} is not translated '
                                     "(only 'poly' and 'step')")
    return out


_EVAL_KEYS = ('interval', 'metric', 'save_best', 'rule', 'pre_eval', 'efficient_test',
              'gpu_collect', 'by_epoch')
_METRICS = ('mIoU', 'mDice', 'mFscore')


def _evaluator(evaluation: Mapping) -> dict:
    _check_keys('evaluation', evaluation, _EVAL_KEYS)
    metric = evaluation.get('metric', 'mIoU')
    metrics = [metric] if isinstance(metric, str) else list(metric)
    bad = [m for m in metrics if m not in _METRICS]
    if bad:
        raise ConfigTranslationError(f'evaluation.metric {bad} is not translated '
                                     f'(IoUMetric knows {_METRICS})')
    return dict(type='IoUMetric', iou_metrics=metrics)


_CHECKPOINT_KEYS = ('by_epoch', 'interval', 'max_keep_ckpts', 'save_optimizer', 'out_dir',
                    'save_last', 'meta', 'create_symlink')


def _checkpoint_hook(ckpt: Mapping) -> dict:
    _check_keys('checkpoint_config', ckpt, _CHECKPOINT_KEYS)
    return {'type': 'CheckpointHook',
            **{k: v for k, v in ckpt.items() if k not in ('meta', 'create_symlink')}}


_LOGGER_BACKENDS = {'TensorboardLoggerHook': 'TensorboardVisBackend',
                    'WandbLoggerHook': 'WandbVisBackend'}


def _logging(log: Mapping, hooks: dict, out: dict) -> None:
    _check_keys('log_config', log, ('interval', 'hooks'))
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


# ---------------------------------------------------------------------------------------
# The whole config
# ---------------------------------------------------------------------------------------
_TRANSLATED = frozenset({'model', 'data', 'evaluation', 'optimizer', 'optimizer_config',
                         'lr_config', 'runner', 'total_iters', 'checkpoint_config',
                         'log_config', 'dist_params', 'cudnn_benchmark', 'resume_from',
                         'seed', 'train_cfg', 'test_cfg', 'workflow', 'gpu_ids', 'device'})


def translate_config(cfg: Mapping[str, Any]) -> dict:
    """A merged 0.x config (``_base_`` chain resolved, e.g. ``Config.fromfile(...).to_dict()``)
    as a complete 1.x config dict, runnable by mmengine's Runner.

    Raises :class:`ConfigTranslationError` naming whatever it does not understand.
    """
    src = _plain(cfg)
    known = _TRANSLATED | HELPER_VARIABLES | CONSUMED | {k for k in DROPPED if '.' not in k}
    unknown = [k for k in src if k not in known]
    if unknown:
        raise ConfigTranslationError(
            f'unknown top-level key(s) in the 0.x config: {", ".join(map(repr, unknown))}. '
            'Translate them to 1.x by hand, or remove them if they do not matter '
            '(see ssa_seg.config_v0.DROPPED and HELPER_VARIABLES)')
    out = _runtime_defaults()

    # Helper variables first, so the 1.x structure below wins on any clash.
    for key in sorted(HELPER_VARIABLES & set(src), key=list(src).index):
        out[key], _ = replace_sync_bn(src[key])
    imports = list((out.get('custom_imports') or {}).get('imports', []))
    if 'ssa_seg' not in imports:
        imports.append('ssa_seg')
    out['custom_imports'] = dict(out.get('custom_imports') or {}, imports=imports,
                                 allow_failed_imports=False)

    # Train loop (runner), needed by the dataloaders' samplers and the scheduler's end.
    runner = dict(src.get('runner') or {})
    if not runner and src.get('total_iters'):
        runner = dict(type='IterBasedRunner', max_iters=src['total_iters'])
    _check_keys('runner', runner, ('type', 'max_iters', 'max_epochs'))
    iter_based = runner.get('type', 'IterBasedRunner') == 'IterBasedRunner'
    if runner and runner.get('type') not in ('IterBasedRunner', 'EpochBasedRunner'):
        raise ConfigTranslationError(f'runner.type={runner.get("type")!r} is not translated')
    end = runner.get('max_iters') if iter_based else runner.get('max_epochs')
    evaluation = dict(src.get('evaluation') or {})
    train_cfg = None
    if runner:
        if end is None:
            raise ConfigTranslationError('runner has no max_iters / max_epochs')
        train_cfg = (dict(type='IterBasedTrainLoop', max_iters=end) if iter_based
                     else dict(type='EpochBasedTrainLoop', max_epochs=end))
        if 'interval' in evaluation:
            train_cfg['val_interval'] = evaluation['interval']

    # Data.
    facts = _PipelineFacts()
    if src.get('data') is not None:
        out.update(_dataloaders(src['data'], iter_based, facts))
    if train_cfg is not None:
        out['train_cfg'] = train_cfg
    else:
        out.pop('train_cfg', None)
    if 'val_dataloader' not in out:
        for key in ('val_cfg', 'val_evaluator'):
            out.pop(key, None)
    if 'test_dataloader' not in out:
        for key in ('test_cfg', 'test_evaluator'):
            out.pop(key, None)
    if evaluation:
        for key in ('val_evaluator', 'test_evaluator'):
            if key in out:
                out[key] = _evaluator(evaluation)
        if evaluation.get('save_best'):
            out['default_hooks']['checkpoint']['save_best'] = evaluation['save_best']
            if 'rule' in evaluation:
                out['default_hooks']['checkpoint']['rule'] = evaluation['rule']

    # Model (its old top-level train_cfg / test_cfg, from early 0.x, go inside it).
    if 'model' not in src:
        raise ConfigTranslationError('the 0.x config has no model')
    model = dict(src['model'])
    for key in ('train_cfg', 'test_cfg'):
        if src.get(key) is not None:
            if model.get(key) not in (None, {}):
                raise ConfigTranslationError(f'both model.{key} and a top-level {key}')
            model[key] = src[key]
    norm = _norm_settings(facts, src.get('img_norm_cfg'))
    # The training batch size: what 0.x padded to (Pad), else its crop, else the crop_size
    # variable (a child config may redefine the variable without rebuilding the pipeline).
    crop = (facts.pad or {}).get('size') or facts.crop_size or src.get('crop_size')
    out['model'], had_sync_bn = translate_model(model, norm=norm, pad=facts.pad, crop_size=crop)
    if had_sync_bn or any(replace_sync_bn(src[k])[1] for k in HELPER_VARIABLES & set(src)):
        out['sync_bn'] = 'torch'   # a distributed run turns BN back into SyncBN

    # Schedule.
    if src.get('optimizer') is not None:
        out['optim_wrapper'] = _optim_wrapper(src['optimizer'], src.get('optimizer_config'))
    elif src.get('optimizer_config'):
        raise ConfigTranslationError('optimizer_config without optimizer')
    if src.get('lr_config') is not None:
        out['param_scheduler'] = _param_scheduler(src['lr_config'], end, not iter_based)

    # Runtime.
    hooks = out['default_hooks']
    if not iter_based:
        hooks['checkpoint']['by_epoch'] = True
        hooks['logger']['log_metric_by_epoch'] = True
        out['log_processor'] = dict(out.get('log_processor', {}), by_epoch=True)
    if src.get('checkpoint_config') is not None:
        hooks['checkpoint'] = dict(hooks['checkpoint'], **_checkpoint_hook(
            src['checkpoint_config']))
    if src.get('log_config') is not None:
        _logging(src['log_config'], hooks, out)
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
    return out
