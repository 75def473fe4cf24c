"""Backbones of the reference SSA-Seg configs that mmsegmentation 1.x lacks (or names
differently), registered in mmseg's MODELS under the reference's type names."""
from .afformer import AFFormer, afformer_base, afformer_small, afformer_tiny
from .efficientformer_v2 import EfficientFormerV2
from .mscan import MSCANRef
from .seaformer import SeaFormer
from .vit_adapter import ViTAdapter
from .vit_adapter_optim import LayerDecayOptimizerConstructor

__all__ = ['AFFormer', 'EfficientFormerV2', 'LayerDecayOptimizerConstructor', 'MSCANRef',
           'SeaFormer', 'ViTAdapter', 'afformer_base', 'afformer_small', 'afformer_tiny']
