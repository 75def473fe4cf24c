"""AFFormer's decode head ``CLS`` and its SSA-Seg form ``CLS_ssa``.

The head is a 1x1 ``squeeze`` (conv + norm + act, GroupNorm in the reference configs) on one
selected backbone output, followed by the classifier. It also builds an ``align`` block
that its forward never uses and accepts ``aff_channels``/``aff_kwargs`` without using them
otherwise; both are kept because reference checkpoints hold ``decode_head.align.*`` and
reference configs pass those settings.
"""
from __future__ import annotations

from typing import List, Optional

from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from ..registry import register_ssa_head


@MODELS.register_module()
class CLS(BaseDecodeHead):
    """AFFormer's head: ``cls_seg(squeeze(x))`` on one backbone output.

    Args:
        aff_channels: input channels of the unused ``align`` block (kept for the keys).
        aff_kwargs: accepted for the reference configs; unused, as in the reference.
        in_channels, in_index: one selected input (e.g. ``[216]``, ``[3]``).
    """

    def __init__(self, aff_channels: int = 512, aff_kwargs: Optional[dict] = None, **kwargs):
        super().__init__(input_transform='multiple_select', **kwargs)
        if len(self.in_channels) != 1:
            # The reference sizes squeeze for the concatenated inputs but feeds it only the
            # first one, so it runs with a single selected input only.
            raise ValueError(f'CLS takes one input, got in_channels={self.in_channels}')
        self.aff_channels = aff_channels
        self.aff_kwargs = dict(aff_kwargs or {})
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.squeeze = ConvModule(self.in_channels[0], self.channels, 1, **conv_kwargs)
        self.align = ConvModule(aff_channels, self.channels, 1, **conv_kwargs)   # never run

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        """Backbone outputs -> F, B x channels x h x w (at the selected output's size)."""
        return self.squeeze(self._transform_inputs(inputs)[0])

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Backbone outputs -> B x num_classes x h x w logits."""
        return self.cls_seg(self._forward_feature(inputs))


CLS_ssa = register_ssa_head(CLS, name='CLS_ssa')
