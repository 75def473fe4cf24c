"""Decode heads ported from the reference SSA-Seg code and their ``*_ssa`` forms (registered in
mmseg's MODELS on import; the SSA forms through ``ssa_seg.models.registry.register_ssa_head``)."""
from .afformer import CLS, CLS_ssa
from .cgrseg import CGRSeg, CGRSeg_ssa, CGRSegBody
from .seaformer import LightHead, LightHead_ssa

__all__ = ['CGRSeg', 'CGRSegBody', 'CGRSeg_ssa', 'CLS', 'CLS_ssa', 'LightHead', 'LightHead_ssa']
