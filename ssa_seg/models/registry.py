"""The registry of SSA-Seg heads: ``register_ssa_head`` puts a head's ``*_ssa`` form in
mmsegmentation's ``MODELS``; the common mmseg heads are registered here on import.

Its own module so that the ported heads (``ssa_seg.models.heads.*``) can register their forms
without importing the ``ssa_seg.models`` package that imports them.
"""
from mmseg.models.decode_heads import (
    ASPPHead,
    DepthwiseSeparableASPPHead,
    FCNHead,
    LightHamHead,
    OCRHead,
    PSPHead,
    SegformerHead,
    UPerHead,
)
from mmseg.registry import MODELS

from .ssa_head import ssa_head

# The reference's names, plus a few common heads. Any other head ending in ``cls_seg``
# gets its form with ``register_ssa_head(HeadClass)``.
SUPPORTED_HEADS = (SegformerHead, UPerHead, LightHamHead, OCRHead, FCNHead, PSPHead, ASPPHead,
                   DepthwiseSeparableASPPHead)


def register_ssa_head(base, name=None, force=False):
    """Register ``ssa_head(base)`` in mmseg's MODELS as ``name`` (default ``<Base>_ssa``)."""
    cls = ssa_head(base, name)
    MODELS.register_module(name=cls.__name__, module=cls, force=force)
    return cls


SSA_HEADS = {cls.__name__: cls for cls in (register_ssa_head(base) for base in SUPPORTED_HEADS)}
