"""0.x data pipelines as 1.x ones, transform by transform.

Every 0.x transform the translator knows is registered in :data:`TRANSFORMS` with the
arguments it accepts (:func:`transform`); the registry checks the arguments, so a converter
only says what its transform becomes. What 1.x moved out of the pipeline (normalisation,
training padding, test-time augmentation) is collected in :class:`PipelineFacts` for the model's
``data_preprocessor`` and the ``tta_pipeline``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import ConfigTranslationError, check_keys


class PipelineFacts:
    """What a pipeline translation learns for ``model.data_preprocessor`` and the TTA."""

    def __init__(self) -> None:
        self.norms: List[Tuple[str, dict]] = []   # (where, dict(mean, std, to_rgb))
        self.pad: Optional[dict] = None           # training Pad: size, pad_val, seg_pad_val
        self.crop_size: Optional[tuple] = None    # training RandomCrop
        self.tta: Optional[dict] = None           # flip / ratios of a MultiScaleFlipAug


@dataclass
class Step:
    """Where a transform is and what surrounds it."""

    where: str                                    # e.g. 'data.train.pipeline[2]'
    facts: PipelineFacts = field(default_factory=PipelineFacts)
    img_scale: Optional[Sequence[int]] = None     # set inside a MultiScaleFlipAug

    @property
    def in_msfa(self) -> bool:
        return self.img_scale is not None


#: ``converter(transform, step) -> 1.x transforms`` (a 0.x transform may become none or several).
Converter = Callable[[dict, Step], List[dict]]


@dataclass(frozen=True)
class Transform:
    """A registered 0.x transform: its converter and the arguments it accepts."""

    convert: Converter
    keys: Optional[Tuple[str, ...]]   # None: arguments are not checked
    reads_files: bool                 # takes file_client_args (only the local disk is translated)


#: 0.x transform name -> :class:`Transform`, filled by :func:`transform`.
TRANSFORMS: Dict[str, Transform] = {}


def transform(name: str, *keys: str, checked: bool = True,
              reads_files: bool = False) -> Callable[[Converter], Converter]:
    """Register the decorated converter for the 0.x transform ``name`` with arguments ``keys``."""
    def register(convert: Converter) -> Converter:
        TRANSFORMS[name] = Transform(convert, keys if checked else None, reads_files)
        return convert
    return register


def _convert(t: Mapping, step: Step) -> List[dict]:
    t = dict(t)
    name = t.get('type')
    if name not in TRANSFORMS:
        raise ConfigTranslationError(
            f'{step.where}: unknown pipeline transform {name!r}; the translator knows '
            f'{", ".join(sorted(TRANSFORMS))}')
    spec = TRANSFORMS[name]
    if spec.reads_files:
        fca = t.pop('file_client_args', None)
        if fca not in (None, {'backend': 'disk'}):
            raise ConfigTranslationError(f'{step.where} {name}: file_client_args={fca!r} is not '
                                         'translated (1.x uses backend_args); set it by hand')
    if spec.keys is not None:
        check_keys(f'{step.where} {name}', t, spec.keys, ignore=('type',))
    return spec.convert(t, step)


# ---------------------------------------------------------------------------------------
# Converters
# ---------------------------------------------------------------------------------------
def _unchanged(t: dict, step: Step) -> List[dict]:
    """A transform whose 1.x form has the same name and arguments."""
    return [dict(t)]


#: Transforms whose 1.x form has the same name and arguments: name -> arguments.
SAME_IN_1X: Dict[str, Tuple[str, ...]] = {
    'PhotoMetricDistortion': ('brightness_delta', 'contrast_range', 'saturation_range',
                              'hue_delta'),
    'ResizeToMultiple': ('size_divisor', 'interpolation'),
    'RandomRotate': ('prob', 'degree', 'pad_val', 'seg_pad_val', 'center', 'auto_bound'),
    'CLAHE': ('clip_limit', 'tile_grid_size'),
    'AdjustGamma': ('gamma',),
    'RGB2Gray': ('out_channels', 'weights'),
}
for _name, _keys in SAME_IN_1X.items():
    transform(_name, *_keys)(_unchanged)


@transform('LoadImageFromFile', 'to_float32', 'color_type', 'imdecode_backend',
           reads_files=True)
@transform('LoadAnnotations', 'reduce_zero_label', 'imdecode_backend', reads_files=True)
def _load(t: dict, step: Step) -> List[dict]:
    return [t]


def _is_scale(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) for v in value))


@transform('Resize', 'img_scale', 'multiscale_mode', 'ratio_range', 'keep_ratio')
def _resize(t: dict, step: Step) -> List[dict]:
    keep_ratio = t.get('keep_ratio', True)
    if step.in_msfa:   # the scale comes from MultiScaleFlipAug
        if 'img_scale' in t or 'ratio_range' in t:
            raise ConfigTranslationError(f'{step.where} Resize inside MultiScaleFlipAug with '
                                         'its own img_scale/ratio_range is not translated')
        return [dict(type='Resize', scale=tuple(step.img_scale), keep_ratio=keep_ratio)]
    scale, ratio_range = t.get('img_scale'), t.get('ratio_range')
    if scale is None:
        raise ConfigTranslationError(f'{step.where} Resize without img_scale is not translated')
    if _is_scale(scale) or (isinstance(scale, (list, tuple)) and len(scale) == 1):
        scale = tuple(scale if _is_scale(scale) else scale[0])
        if ratio_range is not None:
            return [dict(type='RandomResize', scale=scale, ratio_range=tuple(ratio_range),
                         keep_ratio=keep_ratio)]
        return [dict(type='Resize', scale=scale, keep_ratio=keep_ratio)]
    return [_multiscale_resize(t, step, [tuple(s) for s in scale], keep_ratio)]


def _multiscale_resize(t: dict, step: Step, scales: List[tuple], keep_ratio) -> dict:
    """A 0.x Resize with several ``img_scale``: one of them, or a range between two."""
    if t.get('ratio_range') is not None:
        raise ConfigTranslationError(f'{step.where} Resize with several img_scale and a '
                                     'ratio_range is not translated')
    mode = t.get('multiscale_mode', 'range')
    if mode == 'value':
        return dict(type='RandomChoiceResize', scales=scales, keep_ratio=keep_ratio)
    if mode == 'range' and len(scales) == 2:
        return dict(type='RandomResize', scale=scales, keep_ratio=keep_ratio)
    raise ConfigTranslationError(f'{step.where} Resize multiscale_mode={mode!r} with '
                                 f'{len(scales)} scales is not translated')


@transform('RandomFlip', 'prob', 'flip_ratio', 'direction')
def _random_flip(t: dict, step: Step) -> List[dict]:
    if step.in_msfa:
        return []   # MultiScaleFlipAug decides flipping (see DROPPED)
    prob = t.get('prob', t.get('flip_ratio'))
    if prob is None:
        raise ConfigTranslationError(f'{step.where} RandomFlip without prob is not translated')
    out = dict(type='RandomFlip', prob=prob)
    if 'direction' in t:
        out['direction'] = t['direction']
    return [out]


@transform('Normalize', 'mean', 'std', 'to_rgb')
def _normalize(t: dict, step: Step) -> List[dict]:
    step.facts.norms.append((f'{step.where} Normalize', dict(
        mean=list(t['mean']), std=list(t['std']), to_rgb=bool(t.get('to_rgb', True)))))
    return []


@transform('Pad', 'size', 'size_divisor', 'pad_val', 'seg_pad_val')
def _pad(t: dict, step: Step) -> List[dict]:
    if step.in_msfa or 'size_divisor' in t:
        raise ConfigTranslationError(f'{step.where} Pad at test time or with size_divisor is '
                                     'not translated (set model.data_preprocessor by hand)')
    step.facts.pad = dict(size=tuple(t['size']) if t.get('size') else None,
                          pad_val=t.get('pad_val', 0), seg_pad_val=t.get('seg_pad_val', 255))
    return []


@transform('RandomCrop', 'crop_size', 'cat_max_ratio', 'ignore_index')
def _random_crop(t: dict, step: Step) -> List[dict]:
    step.facts.crop_size = tuple(t['crop_size'])
    return [dict(t, crop_size=tuple(t['crop_size']))]


@transform('DefaultFormatBundle', checked=False)
@transform('ImageToTensor', 'keys')
def _drop(t: dict, step: Step) -> List[dict]:
    return []


@transform('Collect', 'keys', 'meta_keys')
def _collect(t: dict, step: Step) -> List[dict]:
    extra = [k for k in t.get('keys', ()) if k not in ('img', 'gt_semantic_seg')]
    if extra:
        raise ConfigTranslationError(f'{step.where} Collect keys {extra} are not translated '
                                     "(PackSegInputs packs 'img' and 'gt_semantic_seg')")
    return [dict(type='PackSegInputs')]


@transform('MultiScaleFlipAug', 'img_scale', 'img_ratios', 'flip', 'flip_direction',
           'transforms')
def _multi_scale_flip_aug(t: dict, step: Step) -> List[dict]:
    if step.in_msfa:
        raise ConfigTranslationError(f'{step.where} nested MultiScaleFlipAug is not translated')
    img_scale = t.get('img_scale')
    if not _is_scale(img_scale):
        raise ConfigTranslationError(f'{step.where} MultiScaleFlipAug needs one img_scale '
                                     f'(w, h) to be translated, got {img_scale!r}')
    ratios = t.get('img_ratios')
    ratios = [ratios] if isinstance(ratios, (int, float)) else list(ratios or [1.0])
    flip = bool(t.get('flip', False))
    inner: List[dict] = []
    keep_ratio = True
    for i, sub in enumerate(t.get('transforms', [])):
        if sub.get('type') == 'Resize':
            keep_ratio = sub.get('keep_ratio', True)
        inner += _convert(sub, Step(f'{step.where} MultiScaleFlipAug.transforms[{i}]',
                                    step.facts, img_scale=img_scale))
    if ratios != [1.0] or flip:
        step.facts.tta = dict(img_scale=tuple(img_scale), ratios=ratios, flip=flip,
                              direction=t.get('flip_direction', 'horizontal'),
                              keep_ratio=keep_ratio)
    return inner


# ---------------------------------------------------------------------------------------
# Whole pipelines
# ---------------------------------------------------------------------------------------
def translate_pipeline(pipeline: Sequence[Mapping], *, where: str = 'pipeline',
                       annotations: Optional[dict] = None,
                       facts: Optional[PipelineFacts] = None) -> List[dict]:
    """A 0.x pipeline as a 1.x one.

    ``Normalize``, ``Pad``, ``DefaultFormatBundle``, ``ImageToTensor`` disappear (the data
    preprocessor normalises and pads), ``Collect`` becomes ``PackSegInputs`` (once, last),
    ``Resize(img_scale, ratio_range)`` becomes ``RandomResize``, and a single-scale
    ``MultiScaleFlipAug(img_scale, transforms=[Resize(keep_ratio), ...])`` unrolls to
    ``Resize(scale=img_scale, keep_ratio)``. Test pipelines of 0.x never load annotations (the
    dataset did): pass ``annotations`` (the ``LoadAnnotations`` arguments) to insert
    ``LoadAnnotations`` before ``PackSegInputs``, as 1.x test pipelines do.
    """
    facts = facts if facts is not None else PipelineFacts()
    out: List[dict] = []
    for i, t in enumerate(pipeline):
        out += _convert(t, Step(f'{where}[{i}]', facts))
    packs = [i for i, t in enumerate(out) if t['type'] == 'PackSegInputs']
    if len(packs) > 1:
        raise ConfigTranslationError(f'{where}: more than one Collect')
    body = [t for t in out if t['type'] != 'PackSegInputs']
    has_ann = any(t['type'] == 'LoadAnnotations' for t in body)
    if annotations is not None and not has_ann:
        body.append(dict(type='LoadAnnotations', **annotations))
    return body + [dict(type='PackSegInputs')]


def tta_pipeline(tta: dict, annotations: Optional[dict]) -> List[dict]:
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
