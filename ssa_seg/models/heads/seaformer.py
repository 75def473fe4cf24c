"""SeaFormer's light segmentation head (``LightHead``) and its SSA-Seg form (``LightHead_ssa``).

The head walks from the 1/8 detail feature to the coarsest map: at each step a fusion block
projects the current detail feature and multiplies it by a gate computed from the next, more
semantic backbone map (hard sigmoid, upsampled to the detail resolution). A (depthwise) 1x1
ConvModule, ``linear_fuse``, then gives the feature F that the classifier sees.

``LightHead_ssa`` is ``LightHead`` with the SSA-Seg classifier, made by the project's generic
wrapper (``register_ssa_head``), whose classifier owns ``conv_seg``; F is the ``linear_fuse``
output, as in the reference.
"""
from __future__ import annotations

from typing import List, Sequence

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..registry import register_ssa_head


class FusionBlock(nn.Module):
    """Gate a detail feature with a coarser, more semantic one.

    ``local_embedding(x_detail) * upsample(hsigmoid(global_act(x_semantic)))``, both
    projections 1x1 ConvModules with norm and no activation.
    x_detail B x C_l x H x W, x_semantic B x C_g x h x w -> B x embed_dim x H x W.
    """

    def __init__(self, detail_channels: int, semantic_channels: int, embed_dim: int,
                 norm_cfg: dict):
        super().__init__()
        self.local_embedding = ConvModule(detail_channels, embed_dim, 1, norm_cfg=norm_cfg,
                                          act_cfg=None)
        self.global_act = ConvModule(semantic_channels, embed_dim, 1, norm_cfg=norm_cfg,
                                     act_cfg=None)
        self.act = nn.Hardsigmoid()    # relu6(x + 3) / 6

    def forward(self, x_detail: Tensor, x_semantic: Tensor) -> Tensor:
        gate = self.act(self.global_act(x_semantic))
        # The gate is upsampled after the hard sigmoid, so it stays in [0, 1].
        gate = F.interpolate(gate, size=x_detail.shape[2:], mode='bilinear', align_corners=False)
        return self.local_embedding(x_detail) * gate


@MODELS.register_module()
class LightHead(BaseDecodeHead):
    """SeaFormer's decode head.

    Args:
        embed_dims: output channels of each fusion block; one block per backbone map after
            the first, so ``len(embed_dims) == len(in_channels) - 1``. ``channels`` must equal
            ``embed_dims[-1]`` (``linear_fuse`` keeps the width).
        is_dw: make ``linear_fuse`` depthwise (``groups = channels``), as the released configs.
        Other arguments: :class:`BaseDecodeHead` (``input_transform`` is always
        ``'multiple_select'``).

    Inputs: the backbone's maps, finest (1/8) first. Output: B x num_classes x H/8 x W/8.
    """

    def __init__(self, embed_dims: Sequence[int], is_dw: bool = False, **kwargs):
        super().__init__(input_transform='multiple_select', **kwargs)
        if len(embed_dims) != len(self.in_channels) - 1:
            raise ValueError(f'LightHead: {len(self.in_channels)} inputs need '
                             f'{len(self.in_channels) - 1} embed_dims, got {list(embed_dims)}')
        if embed_dims[-1] != self.channels:
            raise ValueError(f'LightHead: channels ({self.channels}) must equal the last '
                             f'embed_dims ({embed_dims[-1]})')
        self.embed_dims = list(embed_dims)
        self.linear_fuse = ConvModule(self.channels, self.channels, 1,
                                      groups=self.channels if is_dw else 1,
                                      norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        detail = self.in_channels[0]
        for i, embed_dim in enumerate(self.embed_dims):
            self.add_module(f'fuse{i + 1}', FusionBlock(detail, self.in_channels[i + 1],
                                                        embed_dim, self.norm_cfg))
            detail = embed_dim

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        """Backbone maps -> F, B x channels x H/8 x W/8 (the tensor that goes into cls_seg)."""
        feats = self._transform_inputs(inputs)
        x = feats[0]
        for i in range(len(self.embed_dims)):
            x = getattr(self, f'fuse{i + 1}')(x, feats[i + 1])
        return self.linear_fuse(x)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        return self.cls_seg(self._forward_feature(inputs))


# The SSA-Seg form comes from the generic wrapper: its classifier replaces conv_seg (same
# shape as the reference's re-built conv_seg) and adds the SSA modules under the reference names.
LightHead_ssa = register_ssa_head(LightHead, name='LightHead_ssa')
