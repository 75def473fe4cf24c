"""Decode heads ported from the reference SSA-Seg code (baseline and ``*_ssa`` forms),
registered in mmseg's ``MODELS``."""
from .cgrseg import CGRSeg, CGRSeg_ssa, CGRSegBody  # noqa: F401
