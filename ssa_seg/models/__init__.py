"""mmsegmentation integration: SSA-Seg forms of decode heads, registered in ``MODELS``
(:mod:`ssa_seg.models.registry`), and the ported backbones and heads, which register
themselves on import."""
from . import backbones, heads  # noqa: F401  (registration)
from .registry import SSA_HEADS, SUPPORTED_HEADS, register_ssa_head
from .ssa_head import ssa_head

globals().update(SSA_HEADS)

__all__ = ['ssa_head', 'register_ssa_head', 'SSA_HEADS', 'SUPPORTED_HEADS', *SSA_HEADS]
