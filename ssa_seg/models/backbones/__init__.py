"""Backbones of the reference SSA-Seg configs, registered in mmseg's MODELS."""
from .afformer import AFFormer, afformer_base, afformer_small, afformer_tiny

__all__ = ['AFFormer', 'afformer_base', 'afformer_small', 'afformer_tiny']
