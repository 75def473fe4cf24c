"""The 0.x ``model`` as 1.x, and the pretrained weights a model config asks for."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import ConfigTranslationError, check_keys
from .pipeline import PipelineFacts
from .tables import V0_TYPES
from .walk import walk

_URL_PREFIXES = ('http://', 'https://', 'open-mmlab://', 'torchvision://', 'mmcls://',
                 's3://', 'pavi://')


def _is_type(node: Any, kind: str) -> bool:
    return isinstance(node, Mapping) and node.get('type') == kind


def replace_sync_bn(value: Any) -> Tuple[Any, bool]:
    """``value`` with every ``dict(type='SyncBN', ...)`` turned into ``BN``, at any depth.

    Returns (new value, whether any SyncBN was found).
    """
    found = []

    def visit(node, where, key):
        if _is_type(node, 'SyncBN'):
            found.append(where)
            return {**node, 'type': 'BN'}
        return node

    return walk(value, visit), bool(found)


def _rename_types(node, where, key):
    """A walk visitor: reference type names mmseg 1.x reuses for other modules (V0_TYPES)."""
    if isinstance(node, Mapping) and node.get('type') in V0_TYPES:
        return {**node, 'type': V0_TYPES[node['type']]}
    return node


def norm_settings(facts: PipelineFacts, img_norm_cfg: Optional[Mapping]) -> Optional[dict]:
    """The one normalisation of the config: ``img_norm_cfg`` and every pipeline's Normalize.

    1.x normalises once, in the model, so they must agree; ``None`` if there is none.
    """
    found = list(facts.norms)
    if img_norm_cfg is not None:
        check_keys('img_norm_cfg', img_norm_cfg, ('mean', 'std', 'to_rgb'))
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
    model, had_sync_bn = replace_sync_bn(walk(model, _rename_types))
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


# ---------------------------------------------------------------------------------------
# Pretrained weights
# ---------------------------------------------------------------------------------------
def pretrained_weights(model: Mapping) -> List[Tuple[str, str]]:
    """Pretrained-weight files a model config asks for: [(config key, path or URL)].

    Looks at ``model.pretrained``, ``model.backbone.pretrained`` and every
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` in the model, at any depth.
    """
    found: List[Tuple[str, str]] = []

    def visit(node, where, key):
        if where.endswith('init_cfg') and _is_type(node, 'Pretrained') and node.get('checkpoint'):
            found.append((f'{where}.checkpoint', str(node['checkpoint'])))
        elif key == 'pretrained' and isinstance(node, str) and node:
            found.append((where, node))
        return node

    walk(model, visit, 'model')
    return found


def strip_pretrained(model: Mapping) -> dict:
    """``model`` without its pretrained-weight requests (for when a checkpoint gives every weight).

    ``pretrained`` entries become ``None``, ``init_cfg=dict(type='Pretrained', ...)`` anywhere
    becomes ``None`` (or leaves a list of init configs), and the backbone's ``init_cfg`` is
    dropped whatever its type (nothing to initialise when weights are loaded).
    """
    def visit(node, where, key):
        if key == 'pretrained' and isinstance(node, str):
            return None
        if key != 'init_cfg':
            return node
        if where == 'model.backbone.init_cfg' or _is_type(node, 'Pretrained'):
            return None
        if isinstance(node, (list, tuple)):
            return [i for i in node if not _is_type(i, 'Pretrained')] or None
        return node

    return walk(model, visit, 'model')


def missing_pretrained(model: Mapping) -> List[Tuple[str, str]]:
    """The local files of :func:`pretrained_weights` that do not exist (URLs are not checked)."""
    return [(key, path) for key, path in pretrained_weights(model)
            if not path.startswith(_URL_PREFIXES) and not os.path.isfile(path)]
