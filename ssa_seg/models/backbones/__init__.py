"""Backbones ported from the reference SSA-Seg code (registered in mmseg's MODELS)."""
from .seaformer import SeaFormer

__all__ = ['SeaFormer']
