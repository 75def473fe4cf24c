"""Backbones registered in mmseg's MODELS (importing this package registers them)."""
from .mscan import MSCANRef

__all__ = ['MSCANRef']
