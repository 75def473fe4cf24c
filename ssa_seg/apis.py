"""High-level API in the style of ``mmseg.apis``: build, load, segment.

>>> model = init_model('ssa_seg/configs/demo/ssa_synthscenes.py', 'checkpoints/demo_ssa.pth')
>>> result = inference_model(model, 'image.png')   # SegDataSample
>>> result.pred_sem_seg.data.shape                    # 1 x H x W
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from .checkpoint import load_weights
from .classifier import SSAClassifier
from .config_v0 import is_v0_config, split_options, strip_pretrained, translate_config

ImageLike = Union[str, os.PathLike, np.ndarray]


def load_config(config: Union[str, os.PathLike, Config, dict],
                cfg_options: Optional[dict] = None) -> Config:
    """A config (a copy) from a path, an mmengine ``Config`` or a plain dict, with overrides.

    mmsegmentation 0.x configs (the reference SSA-Seg's, recognised by content) are translated
    to 1.x here (``ssa_seg.config_v0``); ``cfg_options`` apply to the 1.x config, except those
    on 0.x-only keys (``data.*``, ``runner.*``, ``optimizer.*``, ...), applied before.
    Raises ``ssa_seg.config_v0.ConfigTranslationError`` naming what a 0.x config has that the
    translator does not understand.
    """
    if isinstance(config, Config):
        cfg = config.copy()
    elif isinstance(config, dict):
        cfg = Config(config)
    else:
        path = os.fspath(config)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'config file not found: {path}')
        cfg = Config.fromfile(path)
    if is_v0_config(cfg):
        before, cfg_options = split_options(cfg_options)   # 0.x keys, e.g. data.*, go first
        if before:
            cfg.merge_from_dict(before)
        cfg = Config(translate_config(cfg.to_dict()), filename=cfg.filename)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _dataset_meta(cfg: Config, meta: dict, num_classes: int) -> dict:
    """Classes and palette: from the checkpoint, else the config's dataset, else generic.

    Checkpoint meta may be mmseg 1.x style (``dataset_meta``) or 0.x style (``CLASSES``,
    ``PALETTE``, as in reference SSA-Seg checkpoints).
    """
    if meta.get('dataset_meta'):
        found = dict(meta['dataset_meta'])
    elif meta.get('CLASSES'):
        found = dict(classes=meta['CLASSES'], palette=meta.get('PALETTE'))
    else:
        dataset_cfg = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        dataset_cls = DATASETS.get(dataset_cfg['type']) if dataset_cfg.get('type') else None
        found = {**(getattr(dataset_cls, 'METAINFO', None) or {}),
                 **(dataset_cfg.get('metainfo') or {})}
    classes = found.get('classes')
    if not classes or len(classes) != num_classes:
        classes = [f'class_{i}' for i in range(num_classes)]
    palette = found.get('palette')
    if not palette or len(palette) < num_classes:
        palette = _generic_palette(num_classes)
    return dict(found, classes=tuple(classes), palette=[list(map(int, p)) for p in palette])


def _generic_palette(n: int) -> list:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 3)).tolist()


def init_model(config, checkpoint: Optional[Union[str, os.PathLike]] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None):
    """Build a segmentor from a config and load a checkpoint; returns it in eval mode.

    Args:
        config: path to a config file, an mmengine ``Config`` or a plain dict.
        checkpoint: this project's checkpoints, mmseg 1.x checkpoints and reference SSA-Seg
            (mmseg 0.x) checkpoints; loaded with ``weights_only=True``. ``None`` keeps the
            random initialisation.
        device: torch device string.
    The model gets ``.cfg`` (the config) and ``.dataset_meta`` (classes and palette).
    """
    import ssa_seg  # noqa: F401  (registers heads and datasets)

    cfg = load_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    # Never fetch pretrained (ImageNet) weights here: the checkpoint, if any, has every weight.
    cfg.model = strip_pretrained(cfg.model.to_dict())
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    meta = load_weights(model, checkpoint) if checkpoint is not None else {}
    model.cfg = cfg
    model.dataset_meta = _dataset_meta(cfg, meta, final_head(model).num_classes)
    return model.to(device).eval()


def _test_pipeline(model, image: ImageLike) -> Compose:
    pipeline = [dict(t) for t in model.cfg.test_dataloader.dataset.pipeline]
    pipeline = [t for t in pipeline if t['type'] != 'LoadAnnotations']
    if not isinstance(image, (str, os.PathLike)):
        pipeline[0] = dict(type='LoadImageFromNDArray')
    return Compose(pipeline)


def prepare_inputs(model, image: ImageLike) -> Tuple[torch.Tensor, SegDataSample]:
    """Run the config's test pipeline and the data preprocessor on one image.

    ``image`` is a file path or an H x W x 3 uint8 array in RGB order.
    Returns (inputs 1 x 3 x h x w float, data sample with the image metas).
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'expected an H x W x 3 uint8 RGB array, got {image.dtype} '
                             f'{image.shape}')
        data = dict(img=np.ascontiguousarray(image[..., ::-1]))  # mmseg pipelines are BGR
    else:
        if not os.path.isfile(os.fspath(image)):
            raise FileNotFoundError(f'image not found: {image}')
        data = dict(img_path=os.fspath(image))
    data = _test_pipeline(model, image)(data)
    batch = model.data_preprocessor(dict(inputs=[data['inputs']],
                                         data_samples=[data['data_samples']]), False)
    return batch['inputs'], batch['data_samples'][0]


@torch.no_grad()
def inference_model(model, image: ImageLike) -> SegDataSample:
    """Segment one image (path or H x W x 3 uint8 RGB array).

    Returns mmseg's ``SegDataSample`` with ``pred_sem_seg`` (1 x H x W) and ``seg_logits``
    (K x H x W) at the image's original size.
    """
    inputs, sample = prepare_inputs(model, image)
    return model.predict(inputs, [sample])[0]


def final_head(model):
    """The decode head that produces the logits (the last stage of a cascade)."""
    head = model.decode_head
    return head[-1] if isinstance(head, torch.nn.ModuleList) else head


def ssa_classifier(model) -> Optional[SSAClassifier]:
    """The model's SSA classifier, or ``None`` for a vanilla head."""
    return getattr(final_head(model), 'ssa_classifier', None)


@torch.no_grad()
def extract_head_features(model, image: ImageLike) -> Tuple[torch.Tensor, SegDataSample]:
    """The decode head's feature F (1 x C x h x w) for one image: everything before the classifier.

    Works for SSA-Seg heads and for vanilla heads (via a hook on their ``conv_seg`` input).
    Cascade segmentors run their auxiliary first stage as in inference.
    """
    inputs, sample = prepare_inputs(model, image)
    x = model.extract_feat(inputs)
    head = model.decode_head
    args: Sequence = ()
    if hasattr(model, 'num_stages'):           # CascadeEncoderDecoder
        prev = model.decode_head[0].forward(x)
        for stage in model.decode_head[1:-1]:
            prev = stage.forward(x, prev)
        head, args = model.decode_head[-1], (prev,)
    if hasattr(head, 'head_features'):
        return head.head_features(x, *args), sample
    captured = {}
    handle = head.conv_seg.register_forward_pre_hook(lambda m, inp: captured.setdefault('f', inp[0]))
    try:
        head.forward(x, *args)   # in eval mode dropout is the identity, so this is F
    finally:
        handle.remove()
    return captured['f'], sample
