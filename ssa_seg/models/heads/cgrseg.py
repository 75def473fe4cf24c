"""CGRSeg decode heads (Context-Guided Spatial Feature Reconstruction), baseline and SSA-Seg.

Registered in mmseg's ``MODELS`` as ``CGRSeg`` and ``CGRSeg_ssa`` (the reference type names),
with the reference state-dict keys (``decode_head.trans.*``, ``SIM.*``, ``meta.*``, ``conv.*``,
``linear_fuse.*``, and for the baseline ``lgc.*``).

Data flow for inputs at strides 8, 16, 32 (``in_index=[1, 2, 3]``), channels C_i::

    pooled = cat_i(avgpool(x_i -> stride 64))          B x sum(C_i) x H/64 x W/64
    pooled = trans(pooled)                              rectangular-calibration blocks (RCM)
    g_0, g_1, g_2 = split(pooled, C_i)                  global semantics per level
    for i = 2, 1, 0:                                    coarse to fine
        l_i = x_i (+ conv[i](upsample(s_{i+1})) below the top level)
        s_i = SIM[i](meta[i](l_i), g_i)                 B x channels x H_i x W_i
    x = s_0                                             B x channels x H/8 x W/8

``CGRSegBody`` ends with ``cls_seg(linear_fuse(x))``. The baseline ``CGRSeg`` adds the DPG
refinement: coarse logits ``cls_seg(linear_fuse(x))`` gather per-class contexts from x
(softmax over pixels), ``lgc`` turns them into a channel gate, and the classifier runs on
``lgc(x, contexts) + x`` (so its F is that refined map, not the ``linear_fuse`` output).

``CGRSeg_ssa`` deviates from "CGRSeg + SSA" exactly as the reference does
(models/decode_heads/cgr_head_ssa.py): it has no ``lgc`` (the DPG stage is absent) and the SSA
classifier runs directly on the ``linear_fuse`` output. It is therefore the SSA form of
``CGRSegBody`` (``register_ssa_head(CGRSegBody, name='CGRSeg_ssa')``), not of ``CGRSeg``. Its
parameter-free ``spatial_gather_module`` is still constructed, as in the reference, and unused.

Reference facts kept: the SIM fuse blocks hard-code SyncBN (``sim_norm_cfg`` here, default
SyncBN; on one CPU process it behaves as BN), while the RCM/RCA norms are plain BatchNorm2d
whatever ``norm_cfg`` says; ``norm_cfg`` applies to ``linear_fuse`` only.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks import DropPath
from mmengine.model.weight_init import constant_init, kaiming_init
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.ocr_head import SpatialGatherModule
from mmseg.registry import MODELS
from torch import Tensor

from ..registry import register_ssa_head


class RCA(nn.Module):
    """Rectangular self-calibration attention: a depthwise ``square_kernel_size`` conv (local
    detail) gated by an axial context map.

    x: B x C x H x W -> B x C x H x W. The gate: row means (B x C x H x 1) + column means
    (B x C x 1 x W), broadcast to H x W, then a (1 x k) and a (k x 1) grouped conv with BN and
    ReLU between them, then a sigmoid (``excite``).
    """

    def __init__(self, dim: int, band_kernel_size: int = 11, square_kernel_size: int = 3,
                 ratio: int = 1):
        super().__init__()
        self.dwconv_hw = nn.Conv2d(dim, dim, square_kernel_size,
                                   padding=square_kernel_size // 2, groups=dim)
        groups = dim // ratio
        k = band_kernel_size
        self.excite = nn.Sequential(
            nn.Conv2d(dim, groups, (1, k), padding=(0, k // 2), groups=groups),
            nn.BatchNorm2d(groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(groups, dim, (k, 1), padding=(k // 2, 0), groups=groups),
            nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        local = self.dwconv_hw(x)
        context = x.mean(dim=3, keepdim=True) + x.mean(dim=2, keepdim=True)
        return self.excite(context) * local


class PointwiseMlp(nn.Module):
    """1x1 conv, activation, 1x1 conv: B x C x H x W -> B x C x H x W."""

    def __init__(self, dim: int, hidden: int, act_layer=nn.GELU):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = act_layer()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class RCM(nn.Module):
    """Rectangular self-calibration module (a MetaNeXt block with RCA as token mixer).

    x + gamma * mlp(norm(rca(x))); gamma (C,) starts at 1e-6. B x C x H x W preserved.
    """

    def __init__(self, dim: int, dw_size: int = 11, square_kernel_size: int = 3,
                 mlp_ratio: float = 2, ratio: int = 1, ls_init_value: float = 1e-6,
                 drop_path: float = 0.):
        super().__init__()
        self.token_mixer = RCA(dim, band_kernel_size=dw_size,
                               square_kernel_size=square_kernel_size, ratio=ratio)
        self.norm = nn.BatchNorm2d(dim)
        self.mlp = PointwiseMlp(dim, int(mlp_ratio * dim))
        self.gamma = nn.Parameter(torch.full((dim,), ls_init_value))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.mlp(self.norm(self.token_mixer(x)))
        return self.drop_path(y * self.gamma.reshape(1, -1, 1, 1)) + x


class RCMStack(nn.Module):
    """``block_num`` RCMs in sequence (the reference's ``NextLayer``)."""

    def __init__(self, block_num: int, dim: int, dw_size: int, mlp_ratio: float,
                 square_kernel_size: int):
        super().__init__()
        self.transformer_blocks = nn.ModuleList(
            RCM(dim, dw_size=dw_size, mlp_ratio=mlp_ratio, square_kernel_size=square_kernel_size)
            for _ in range(block_num))

    def forward(self, x: Tensor) -> Tensor:
        for block in self.transformer_blocks:
            x = block(x)
        return x


class SemanticInjection(nn.Module):
    """SIM: local tokens (B x C_i x H_i x W_i) times a hard-sigmoid gate from the global
    semantics (B x C_i x h x w, upsampled bilinearly): -> B x channels x H_i x W_i.
    """

    def __init__(self, in_channels: int, channels: int, norm_cfg: dict):
        super().__init__()
        self.fuse1 = ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.fuse2 = ConvModule(in_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, local: Tensor, global_semantics: Tensor) -> Tensor:
        gate = F.relu6(self.fuse2(global_semantics) + 3) / 6      # h_sigmoid
        gate = F.interpolate(gate, size=local.shape[2:], mode='bilinear', align_corners=False)
        return self.fuse1(local) * gate


class DynamicPrototypeGate(nn.Module):
    """DPG (``lgc``): a channel gate computed from per-class contexts.

    ``forward(x, contexts)``: x B x C x H x W, contexts B x C x K x 1 (one C-vector per class).
    The contexts are pooled over classes with softmax weights from ``conv_mask`` (1x1 conv
    C -> 1), the pooled B x C x 1 x 1 vector goes through ``channel_mul_conv`` (1x1 conv,
    LayerNorm over (C, 1, 1), ReLU, 1x1 conv) and a sigmoid, and x is scaled by it.
    """

    def __init__(self, channels: int, mid_channels: int):
        super().__init__()
        self.conv_mask = nn.Conv2d(channels, 1, 1)
        self.channel_mul_conv = nn.Sequential(
            nn.Conv2d(channels, mid_channels, 1),
            nn.LayerNorm([mid_channels, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, channels, 1))
        # Reference initialisation: fan-in Kaiming for the mask, zero last conv (gate = 0.5).
        kaiming_init(self.conv_mask, mode='fan_in')
        constant_init(self.channel_mul_conv[-1], val=0)

    def forward(self, x: Tensor, contexts: Tensor) -> Tensor:
        b, c, k, _ = contexts.shape
        weights = self.conv_mask(contexts).view(b, 1, k).softmax(dim=2)       # B x 1 x K
        pooled = torch.matmul(contexts.view(b, 1, c, k), weights.unsqueeze(3))  # B x 1 x C x 1
        gate = torch.sigmoid(self.channel_mul_conv(pooled.view(b, c, 1, 1)))
        return x * gate


def pyramid_pool(inputs: Sequence[Tensor], stride: int = 2) -> Tensor:
    """Average-pool every level to the last level's size reduced by ``stride``, concat."""
    h, w = inputs[-1].shape[2:]
    size = ((h - 1) // stride + 1, (w - 1) // stride + 1)
    return torch.cat([F.adaptive_avg_pool2d(x, size) for x in inputs], dim=1)


class CGRSegBody(BaseDecodeHead):
    """CGRSeg without the DPG refinement: ``cls_seg(linear_fuse(x))``.

    The base of ``CGRSeg_ssa`` (see the module docstring). Args as the reference's
    ``CGRSeg``: ``is_dw`` (depthwise ``linear_fuse``), ``next_repeat`` (RCMs in ``trans``),
    ``mr`` (RCM MLP ratio), ``dw_size``/``neck_size`` (band kernel of the per-level/global
    RCMs), ``square_kernel_size``, ``module`` (only 'RCA'), ``ratio`` (RCA groups divisor);
    ``sim_norm_cfg`` is the SIM norm, default SyncBN, which the reference hard-codes.
    """

    def __init__(self, is_dw: bool = False, next_repeat: int = 4, mr: float = 2,
                 dw_size: int = 7, neck_size: int = 3, square_kernel_size: int = 1,
                 module: str = 'RCA', ratio: int = 1,
                 sim_norm_cfg: Optional[dict] = None, **kwargs):
        super().__init__(input_transform='multiple_select', **kwargs)
        if module != 'RCA':
            raise ValueError(f"CGRSeg supports module='RCA' only, got {module!r}")
        sim_norm_cfg = sim_norm_cfg or dict(type='SyncBN', requires_grad=True)
        channels = self.channels
        self.linear_fuse = ConvModule(channels, channels, 1, groups=channels if is_dw else 1,
                                      norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.trans = RCMStack(next_repeat, sum(self.in_channels), dw_size=neck_size,
                              mlp_ratio=mr, square_kernel_size=square_kernel_size)
        self.SIM = nn.ModuleList(SemanticInjection(c, channels, sim_norm_cfg)
                                 for c in self.in_channels)
        self.meta = nn.ModuleList(
            RCM(c, dw_size=dw_size, mlp_ratio=mr, square_kernel_size=square_kernel_size,
                ratio=ratio) for c in self.in_channels)
        # 1x1 convs bringing the coarser level's SIM output (channels) to C_i.
        self.conv = nn.ModuleList(nn.Conv2d(channels, c, 1) for c in self.in_channels[:-1])
        self.spatial_gather_module = SpatialGatherModule(1)

    def _fuse(self, inputs: List[Tensor]) -> Tensor:
        """The finest SIM output, B x channels x H/8 x W/8 (for the reference inputs)."""
        levels = self._transform_inputs(inputs)
        global_semantics = self.trans(pyramid_pool(levels)).split(self.in_channels, dim=1)
        fused = None
        for i in reversed(range(len(levels))):
            local = levels[i]
            if fused is not None:
                up = F.interpolate(fused, size=local.shape[2:], mode='bilinear',
                                   align_corners=False)
                local = local + self.conv[i](up)
            fused = self.SIM[i](self.meta[i](local), global_semantics[i])
        return fused

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        """F = ``linear_fuse`` output, B x channels x H/8 x W/8."""
        return self.linear_fuse(self._fuse(inputs))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        return self.cls_seg(self._forward_feature(inputs))


@MODELS.register_module()
class CGRSeg(CGRSegBody):
    """CGRSeg (reference baseline): the body plus the DPG refinement ``lgc``.

    F = ``lgc(x, gather(x, cls_seg(linear_fuse(x)))) + x`` with x the finest SIM output;
    the coarse ``cls_seg`` call is the same classifier (weights shared with the final one).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lgc = DynamicPrototypeGate(self.channels, self.channels)

    def _forward_feature(self, inputs: List[Tensor]) -> Tensor:
        x = self._fuse(inputs)
        coarse = self.cls_seg(self.linear_fuse(x))                    # B x K x h x w
        contexts = self.spatial_gather_module(x, coarse)              # B x C x K x 1
        return self.lgc(x, contexts) + x


CGRSeg_ssa = register_ssa_head(CGRSegBody, name='CGRSeg_ssa')
