"""Decode heads ported from the reference SSA-Seg code, registered in mmseg's MODELS."""
from .afformer import CLS, CLS_ssa

__all__ = ['CLS', 'CLS_ssa']
