"""Backbones ported from the reference SSA-Seg code, registered in mmseg's ``MODELS``."""
from .efficientformer_v2 import EfficientFormerV2  # noqa: F401
