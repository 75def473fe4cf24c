"""High-level API in the style of ``mmseg.apis``: build, load, segment.

From the repository root (the doctest runs there):

>>> model = init_model('ssa_seg/configs/demo/ssa_synthscenes.py',
...                    'checkpoints/synthscenes_ssa.pth')
>>> result = inference_model(model, 'app/examples/images/synthscenes_val_00001.png')
>>> tuple(result.pred_sem_seg.data.shape)             # 1 x H x W, the image's size
(1, 256, 256)
>>> len(inference_model(model, [np.zeros((64, 64, 3), np.uint8)] * 2))   # a list for a list
2
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple, Union

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
from .models.features import head_features
from .palette import default_palette

ImageLike = Union[str, os.PathLike, np.ndarray]


def read_config(path: Union[str, os.PathLike]) -> Config:
    """The config file at ``path`` as written (``_base_`` files merged, 0.x not translated);
    ``FileNotFoundError`` naming the path when there is no such file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    return Config.fromfile(path)


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
        cfg = read_config(config)
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
        palette = default_palette(num_classes)
    return dict(found, classes=tuple(classes), palette=[list(map(int, p)) for p in palette])


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


CHANNEL_ORDERS = ('rgb', 'bgr')


def test_pipeline_config(cfg: Config) -> list:
    """The test pipeline of a config: ``test_dataloader.dataset.pipeline``, else the top-level
    ``test_pipeline`` (mmseg configs define both; some only the latter)."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError('the config has no test pipeline: add test_pipeline = [...] (or '
                         'test_dataloader.dataset.pipeline), e.g. [dict(type="LoadImageFromFile"), '
                         'dict(type="Resize", scale=(2048, 512), keep_ratio=True), '
                         'dict(type="PackSegInputs")]')
    return [dict(t) for t in pipeline]


def _test_pipeline(model, from_array: bool) -> Compose:
    pipeline = [t for t in test_pipeline_config(model.cfg) if t['type'] != 'LoadAnnotations']
    if from_array:
        pipeline[0] = dict(type='LoadImageFromNDArray')
    return Compose(pipeline)


def prepare_inputs(model, image: ImageLike, channel_order: str = 'rgb'
                   ) -> Tuple[torch.Tensor, SegDataSample]:
    """Run the config's test pipeline and the data preprocessor on one image.

    ``image`` is a file path or an H x W x 3 uint8 array whose channels are in
    ``channel_order`` ('rgb', this project's default, or 'bgr', what ``mmseg.apis`` and
    OpenCV use). Returns (inputs 1 x 3 x h x w float, data sample with the image metas).
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f'channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}')
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'expected an H x W x 3 uint8 {channel_order.upper()} array, got '
                             f'{image.dtype} {image.shape}')
        # mmseg pipelines work in BGR (the data preprocessor's bgr_to_rgb flips it back)
        bgr = image[..., ::-1] if channel_order == 'rgb' else image
        data = dict(img=np.ascontiguousarray(bgr))
    else:
        if not os.path.isfile(os.fspath(image)):
            raise FileNotFoundError(f'image not found: {image}')
        data = dict(img_path=os.fspath(image))
    data = _test_pipeline(model, isinstance(image, np.ndarray))(data)
    batch = model.data_preprocessor(dict(inputs=[data['inputs']],
                                         data_samples=[data['data_samples']]), False)
    return batch['inputs'], batch['data_samples'][0]


@torch.no_grad()
def inference_model(model, images: Union[ImageLike, Sequence[ImageLike]],
                    channel_order: str = 'rgb'
                    ) -> Union[SegDataSample, List[SegDataSample]]:
    """Segment an image or a list of images (paths or H x W x 3 uint8 arrays).

    ``channel_order`` says how arrays are ordered: 'rgb' (default: PIL, Gradio, this
    project) or 'bgr' (``mmseg.apis.inference_model`` and ``cv2.imread``). Files are read
    by the pipeline and need no order. Returns mmseg's ``SegDataSample`` with
    ``pred_sem_seg`` (1 x H x W) and ``seg_logits`` (K x H x W) at the image's original size,
    or a list of them for a list of images (as ``mmseg.apis.inference_model`` does).
    """
    if isinstance(images, (list, tuple)):
        return [inference_model(model, image, channel_order) for image in images]
    inputs, sample = prepare_inputs(model, images, channel_order)
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

    Works for SSA-Seg heads and vanilla heads alike
    (:func:`ssa_seg.models.features.head_features`: no state on the model, safe beside
    concurrent inference). Cascade segmentors run their auxiliary first stage as in inference.
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
    return head_features(head, x, *args), sample


# --------------------------------------------------------------------------- head features
# A forward pre-hook on the final head's ``conv_seg`` sees the classifier's input F (both the
# vanilla 1x1 classifier and the SSA coarse mask start from it). The hook stays on the
# module for good and records only for the threads inside ``capturing_head_features``, so
# other threads may run the same model meanwhile; adding and removing hooks per call would
# change the module's hook dict while another thread iterates it.
_capture = threading.local()
_hook_lock = threading.Lock()


def _record_classifier_input(module, args) -> None:
    store = getattr(_capture, 'by_module', {}).get(id(module))
    if store is not None:
        store.append(args[0].detach())


def enable_feature_capture(model) -> None:
    """Put the capture hook on ``model``'s final head (once). Call it before serving the
    model from several threads: :func:`capturing_head_features` does it on first use."""
    conv = final_head(model).conv_seg
    with _hook_lock:
        if not getattr(conv, '_ssa_capture_hook', False):
            conv.register_forward_pre_hook(_record_classifier_input)
            conv._ssa_capture_hook = True


@contextmanager
def capturing_head_features(model) -> Iterator[List[torch.Tensor]]:
    """Within the block, every classifier input F (B x C x h x w) the current thread's
    forwards of ``model`` compute is appended to the yielded list: one for whole-image
    inference, one per window for slide inference. The model itself runs unchanged."""
    enable_feature_capture(model)
    conv = final_head(model).conv_seg
    stores = getattr(_capture, 'by_module', None)
    if stores is None:
        stores = _capture.by_module = {}
    captured: List[torch.Tensor] = []
    stores[id(conv)] = captured
    try:
        yield captured
    finally:
        stores.pop(id(conv), None)
