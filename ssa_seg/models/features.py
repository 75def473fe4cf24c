"""The head feature F: everything a decode head computes before its classifier.

``head_features(head, inputs)`` is a per-call operation with no state on the module, so one
model can serve inference and feature extraction from several threads at once (the split
timm makes between ``forward_features`` and ``forward_head``).

mmsegmentation 1.x heads come in two shapes: those with ``_forward_feature`` (UPerHead,
FCNHead, PSPHead, ASPPHead, this project's ports), whose ``forward`` is
``cls_seg(_forward_feature(x))``, and those whose ``forward`` ends in ``self.cls_seg(feat)``
inline (SegformerHead, LightHamHead, OCRHead). For the second kind the head's own
``forward`` is run on a read-only view of the head whose ``cls_seg`` returns its input: the
view lives for one call, so nothing is ever switched on the shared module.
"""
from __future__ import annotations

from torch import Tensor, nn


class _UpToClassifier:
    """A view of ``head`` for one call: every attribute is the head's, except ``cls_seg``,
    which hands back the feature it is given instead of classifying it."""

    __slots__ = ('_head',)

    def __init__(self, head: nn.Module):
        object.__setattr__(self, '_head', head)

    def __getattr__(self, name: str):
        return getattr(self._head, name)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f'feature extraction may not set {name!r} on the head')

    @staticmethod
    def cls_seg(feat: Tensor) -> Tensor:
        return feat


def head_features(head: nn.Module, inputs, *args) -> Tensor:
    """F, B x C x h x w: the tensor ``head`` passes to ``cls_seg``.

    ``inputs``: the backbone (and neck) outputs the head takes; ``args``: extra forward
    arguments (``prev_output`` for cascade heads such as OCRHead). Dropout is part of
    ``cls_seg`` in mmseg heads, so F is the pre-dropout feature, in any mode.

    >>> import torch
    >>> from mmseg.models.decode_heads import SegformerHead
    >>> head = SegformerHead(in_channels=[4, 4], in_index=[0, 1], channels=6, num_classes=3)
    >>> x = [torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 4)]
    >>> tuple(head_features(head.eval(), x).shape)          # C = channels, at the first scale
    (1, 6, 8, 8)
    >>> bool((head.cls_seg(head_features(head, x)) == head(x)).all())
    True
    """
    if hasattr(head, '_forward_feature') and not args:
        return head._forward_feature(inputs)
    try:
        return type(head).forward(_UpToClassifier(head), inputs, *args)
    except TypeError as err:
        if 'super(' in str(err):   # a forward that calls super() needs the real instance
            raise TypeError(f'{type(head).__name__}.forward calls super(); give the head a '
                            '_forward_feature(inputs) method returning the input of cls_seg'
                            ) from err
        raise
