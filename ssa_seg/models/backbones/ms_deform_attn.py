"""Multi-scale deformable attention (Zhu et al., "Deformable DETR", ICLR 2021) in the form
ViT-Adapter uses it (``MSDeformAttn`` of github czczup/ViT-Adapter, ``segmentation/ops``).

Each query predicts, per head, level and point, an offset from its reference point and an
attention weight (softmax over levels x points); the output is the weighted sum of the value
maps sampled bilinearly at those locations. ViT-Adapter's form differs from mmcv's
``MultiScaleDeformableAttention`` module in two ways that change the checkpoint, so the
module is written here: the value projection may be narrower than the model
(``ratio``: ``value_proj`` d -> d * ratio, ``output_proj`` back to d), and there is no residual,
dropout or identity inside the module (the adapter blocks add their own).

The sampling itself (:func:`deform_sample`) is mmcv's: its compiled kernel where mmcv has
one for the device (CUDA; mmcv 2.1 registers no CPU kernel), else its pure-PyTorch
``multi_scale_deformable_attn_pytorch``, which is the same computation as the original's
``ms_deform_attn_core_pytorch`` (``F.grid_sample``, bilinear, zero padding,
``align_corners=False``), operation for operation.
"""
from __future__ import annotations

import math

import torch
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction,
    multi_scale_deformable_attn_pytorch,
)
from torch import Tensor, nn

#: Queries per chunk in the compiled kernel (the original's value).
IM2COL_STEP = 64


def deform_sample(value: Tensor, spatial_shapes: Tensor, level_start_index: Tensor,
                  locations: Tensor, weights: Tensor) -> Tensor:
    """Weighted bilinear samples of multi-level value maps.

    Args:
        value: N x S x M x D, the levels' maps flattened and concatenated (S = sum H_l * W_l),
            M heads of D channels.
        spatial_shapes: L x 2 (int64), (H_l, W_l) per level.
        level_start_index: L (int64), where each level starts in S (used by the kernel).
        locations: N x Lq x M x L x P x 2, (x, y) in [0, 1] of the level's map.
        weights: N x Lq x M x L x P, attention weights (softmax over L x P per head).

    Returns N x Lq x (M * D). Locations outside the map sample zeros.
    """
    if value.is_cuda:
        return MultiScaleDeformableAttnFunction.apply(
            value, spatial_shapes, level_start_index, locations, weights, IM2COL_STEP)
    return multi_scale_deformable_attn_pytorch(value, spatial_shapes, locations, weights)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention with the original's parameter names.

    Args:
        d_model: query and output channels.
        n_levels: levels of the value input.
        n_heads: attention heads; ``d_model * ratio`` must divide by it.
        n_points: sampling points per head and level.
        ratio: value channels / ``d_model`` (ViT-Adapter-L uses 0.5).

    ``forward(query N x Lq x d_model, reference_points N x Lq x L x 2 (x, y in [0, 1]),
    feat N x S x d_model, spatial_shapes L x 2, level_start_index L)`` -> N x Lq x d_model.
    """

    def __init__(self, d_model: int = 256, n_levels: int = 4, n_heads: int = 8,
                 n_points: int = 4, ratio: float = 1.0):
        super().__init__()
        self.value_dim = int(d_model * ratio)
        if d_model % n_heads or self.value_dim % n_heads:
            raise ValueError(f'MSDeformAttn: d_model={d_model} and its value width '
                             f'{self.value_dim} (ratio {ratio}) must divide by n_heads={n_heads}')
        self.d_model, self.n_levels, self.n_heads, self.n_points = (
            d_model, n_levels, n_heads, n_points)
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, self.value_dim)
        self.output_proj = nn.Linear(self.value_dim, d_model)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The original's initialisation: zero offset weights with biases that start head h's
        points on a ray at angle 2*pi*h/M, at distances 1..P (in cells of the level);
        uniform attention; Xavier-uniform projections with zero biases."""
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([angles.cos(), angles.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]          # onto the unit square
        grid = grid.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        self.sampling_offsets.bias.copy_(grid.flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for proj in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(proj.weight)
            nn.init.zeros_(proj.bias)

    def forward(self, query: Tensor, reference_points: Tensor, feat: Tensor,
                spatial_shapes: Tensor, level_start_index: Tensor) -> Tensor:
        n, len_q, _ = query.shape
        len_in = feat.shape[1]
        value = self.value_proj(feat).view(n, len_in, self.n_heads,
                                           self.value_dim // self.n_heads)
        offsets = self.sampling_offsets(query).view(
            n, len_q, self.n_heads, self.n_levels, self.n_points, 2)
        weights = self.attention_weights(query).view(
            n, len_q, self.n_heads, self.n_levels * self.n_points).softmax(-1)
        weights = weights.view(n, len_q, self.n_heads, self.n_levels, self.n_points)
        # Offsets are in cells of each level: divide by (W_l, H_l) to get map fractions.
        normalizer = torch.stack([spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
        locations = (reference_points[:, :, None, :, None, :]
                     + offsets / normalizer[None, None, None, :, None, :])
        out = deform_sample(value, spatial_shapes, level_start_index, locations, weights)
        return self.output_proj(out)
