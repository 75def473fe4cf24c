"""Layer-wise learning-rate decay for ViT-Adapter, as its SSA-Seg configs train it
(``optimizer=dict(constructor='LayerDecayOptimizerConstructor',
paramwise_cfg=dict(num_layers=24, layer_decay_rate=0.95))``).

mmsegmentation 1.x has a constructor of that name, but it only knows ConvNeXt, BEiT and MAE
backbones and raises ``NotImplementedError`` for any other. ViT-Adapter's own repository
registers its constructor over mmseg's under the same name; so does this module: a subclass
of mmseg's that groups a ``ViTAdapter`` model's parameters by the original's rule and leaves
every other backbone to mmseg's code unchanged.

The rule, with ``L = num_layers + 2`` layer ids and ``r = layer_decay_rate``:

* id 0: ``backbone.pos_embed``, ``backbone.patch_embed.*``; id ``i + 1``:
  ``backbone.blocks.i.*``; id ``L - 1``: everything else (the adapter, the heads);
* learning rate ``base_lr * r ** (L - 1 - id)``;
* no weight decay for 1-d parameters (norms, biases, layer scales) and ``*.bias``.
"""
from __future__ import annotations

from typing import Dict, List

from mmengine.logging import print_log
from mmseg.engine.optimizers import LayerDecayOptimizerConstructor as MMSegLayerDecay
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


def vit_adapter_layer_id(name: str, num_ids: int) -> int:
    """Layer id of a segmentor parameter under the ViT-Adapter rule (see the module doc)."""
    if name == 'backbone.pos_embed' or name.startswith('backbone.patch_embed'):
        return 0
    if name.startswith('backbone.blocks.'):
        return int(name.split('.')[2]) + 1
    return num_ids - 1


def vit_adapter_param_groups(model: nn.Module, num_layers: int, decay_rate: float,
                             base_lr: float, base_wd: float) -> List[dict]:
    """Optimizer parameter groups ``layer_<id>_{decay,no_decay}`` of a segmentor whose
    backbone is a ViTAdapter, each with its ``lr`` and ``weight_decay``."""
    num_ids = num_layers + 2
    groups: Dict[str, dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decay = not (param.ndim == 1 or name.endswith('.bias'))
        layer_id = vit_adapter_layer_id(name, num_ids)
        key = f'layer_{layer_id}_{"decay" if decay else "no_decay"}'
        if key not in groups:
            scale = decay_rate ** (num_ids - layer_id - 1)
            groups[key] = dict(params=[], param_names=[], group_name=key, lr_scale=scale,
                               lr=scale * base_lr, weight_decay=base_wd if decay else 0.0)
        groups[key]['params'].append(param)
        groups[key]['param_names'].append(name)
    return list(groups.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(name='LayerDecayOptimizerConstructor', force=True)
class LayerDecayOptimizerConstructor(MMSegLayerDecay):
    """mmseg's ``LayerDecayOptimizerConstructor``, plus ViT-Adapter's grouping for models whose
    backbone is a ``ViTAdapter`` (``paramwise_cfg``: ``num_layers``, ``layer_decay_rate``)."""

    def add_params(self, params: List[dict], module: nn.Module, **kwargs) -> None:
        backbone = getattr(module, 'backbone', None)
        if type(backbone).__name__ != 'ViTAdapter':
            super().add_params(params, module, **kwargs)
            return
        groups = vit_adapter_param_groups(
            module, self.paramwise_cfg['num_layers'], self.paramwise_cfg['decay_rate'],
            self.base_lr, self.base_wd)
        print_log('ViT-Adapter layer decay: ' + ', '.join(
            f'{g["group_name"]} lr {g["lr"]:.3g} ({len(g["params"])})' for g in groups),
            logger='current')
        params.extend(groups)
