"""The adapter around a plain ViT (Chen et al., "Vision Transformer Adapter for Dense
Predictions", ICLR 2023): spatial prior module, injector, extractor and their interaction
block. Module and parameter names follow github czczup/ViT-Adapter so its checkpoints load.

Token layouts used throughout (input H x W, a multiple of 32; ``h, w = H / 16, W / 16``):

* ViT tokens ``x``: B x (h * w) x C, one per 16 x 16 patch.
* Spatial-prior tokens ``c``: B x (4hw + hw + hw/4) x C, the 1/8, 1/16 and 1/32 maps of the
  spatial prior module flattened and concatenated in that order.

The injector lets ViT tokens attend into the three ``c`` levels; the extractor lets ``c``
tokens attend into the ViT tokens (one level) and refines them with a depthwise-conv FFN.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from .ms_deform_attn import MSDeformAttn

#: (reference points 1 x Lq x 1 x 2, spatial shapes L x 2, level start index L)
DeformInputs = Tuple[Tensor, Tensor, Tensor]


def run_checkpointed(fn: Callable[..., Tensor], enabled: bool, *tensors: Tensor):
    """``fn(*tensors)``, under activation checkpointing when ``enabled`` and the first input
    needs a gradient (as the original: in training; at eval or under ``no_grad`` it would only
    cost time). Non-reentrant, so inputs that need no gradient are fine too."""
    if enabled and tensors[0].requires_grad:
        return cp.checkpoint(fn, *tensors, use_reentrant=False)
    return fn(*tensors)


def reference_points(shapes: Sequence[Tuple[int, int]], device) -> Tensor:
    """Cell centres of each (H, W) map as (x, y) fractions of the map, levels concatenated:
    1 x sum(H * W) x 1 x 2."""
    points = []
    for h, w in shapes:
        ys, xs = torch.meshgrid(
            torch.linspace(0.5, h - 0.5, h, dtype=torch.float32, device=device),
            torch.linspace(0.5, w - 0.5, w, dtype=torch.float32, device=device), indexing='ij')
        points.append(torch.stack((xs.reshape(-1) / w, ys.reshape(-1) / h), -1)[None])
    return torch.cat(points, 1)[:, :, None]


def _shapes_and_starts(shapes: Sequence[Tuple[int, int]], device) -> Tuple[Tensor, Tensor]:
    spatial = torch.as_tensor(shapes, dtype=torch.long, device=device)
    starts = torch.cat((spatial.new_zeros((1,)), spatial.prod(1).cumsum(0)[:-1]))
    return spatial, starts


def deform_inputs(x: Tensor) -> Tuple[DeformInputs, DeformInputs]:
    """(injector inputs, extractor inputs) for an input image batch B x 3 x H x W.

    Injector: queries are the ViT tokens (1/16 grid), values the three prior levels (1/8,
    1/16, 1/32). Extractor: queries are the prior tokens of all three levels, values the ViT
    tokens (one 1/16 level).
    """
    _, _, height, width = x.shape
    pyramid = [(height // 8, width // 8), (height // 16, width // 16),
               (height // 32, width // 32)]
    vit_grid = [(height // 16, width // 16)]
    inject = (reference_points(vit_grid, x.device), *_shapes_and_starts(pyramid, x.device))
    extract = (reference_points(pyramid, x.device), *_shapes_and_starts(vit_grid, x.device))
    return inject, extract


def split_levels(tokens: Tensor, height: int, width: int) -> List[Tensor]:
    """The prior tokens B x (4hw + hw + hw/4) x C as the maps B x C x 2h x 2w, h x w,
    h/2 x w/2 (``h, w`` = the 1/16 grid)."""
    b, _, c = tokens.shape
    sizes = [(2 * height, 2 * width), (height, width), (height // 2, width // 2)]
    parts = tokens.split([h * w for h, w in sizes], dim=1)
    # contiguous: the maps then have the same memory layout (and conv arithmetic) as the
    # original's ``.view(...).contiguous()``.
    return [p.transpose(1, 2).reshape(b, c, h, w).contiguous() for p, (h, w) in zip(parts, sizes)]


class DWConv(nn.Module):
    """A 3 x 3 depthwise conv applied to each prior level separately (child ``dwconv``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        maps = split_levels(x, height, width)
        return torch.cat([self.dwconv(m).flatten(2).transpose(1, 2) for m in maps], dim=1)


class ConvFFN(nn.Module):
    """fc1 -> depthwise 3 x 3 (per level) -> GELU -> dropout -> fc2 -> dropout."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.dwconv = DWConv(hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        x = self.drop(self.act(self.dwconv(self.fc1(x), height, width)))
        return self.drop(self.fc2(x))


class Injector(nn.Module):
    """ViT tokens += gamma * deformable attention (queries: ViT tokens; values: prior levels)."""

    def __init__(self, dim: int, num_heads: int, n_points: int, n_levels: int,
                 deform_ratio: float, norm_layer: Callable[[int], nn.Module],
                 init_values: float = 0.0, with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        self.query_norm = norm_layer(dim)
        self.feat_norm = norm_layer(dim)
        self.attn = MSDeformAttn(d_model=dim, n_levels=n_levels, n_heads=num_heads,
                                 n_points=n_points, ratio=deform_ratio)
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, query: Tensor, feat: Tensor, inputs: DeformInputs) -> Tensor:
        def inner(query: Tensor, feat: Tensor) -> Tensor:
            attn = self.attn(self.query_norm(query), inputs[0], self.feat_norm(feat), *inputs[1:])
            return query + self.gamma * attn

        return run_checkpointed(inner, self.with_cp, query, feat)


class Extractor(nn.Module):
    """Prior tokens += deformable attention into the ViT tokens, then (``with_cffn``) += the
    ConvFFN of their norm (with stochastic depth)."""

    def __init__(self, dim: int, num_heads: int, n_points: int, deform_ratio: float,
                 norm_layer: Callable[[int], nn.Module], with_cffn: bool = True,
                 cffn_ratio: float = 0.25, drop: float = 0.0, drop_path: float = 0.0,
                 with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        self.query_norm = norm_layer(dim)
        self.feat_norm = norm_layer(dim)
        self.attn = MSDeformAttn(d_model=dim, n_levels=1, n_heads=num_heads,
                                 n_points=n_points, ratio=deform_ratio)
        self.with_cffn = with_cffn
        if with_cffn:
            self.ffn = ConvFFN(dim, int(dim * cffn_ratio), drop=drop)
            self.ffn_norm = norm_layer(dim)
            self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, query: Tensor, feat: Tensor, inputs: DeformInputs,
                height: int, width: int) -> Tensor:
        def inner(query: Tensor, feat: Tensor) -> Tensor:
            attn = self.attn(self.query_norm(query), inputs[0], self.feat_norm(feat), *inputs[1:])
            query = query + attn
            if self.with_cffn:
                query = query + self.drop_path(self.ffn(self.ffn_norm(query), height, width))
            return query

        return run_checkpointed(inner, self.with_cp, query, feat)


class InteractionBlock(nn.Module):
    """Injector -> a run of ViT blocks -> extractor (-> two extra extractors on the last block).

    ``forward(x, c, blocks, inject_inputs, extract_inputs, h, w)`` -> (x, c); the ViT blocks
    belong to the backbone and are passed in (this module owns no ViT parameters).
    """

    def __init__(self, dim: int, num_heads: int, n_points: int,
                 norm_layer: Callable[[int], nn.Module], drop: float = 0.0,
                 drop_path: float = 0.0, with_cffn: bool = True, cffn_ratio: float = 0.25,
                 init_values: float = 0.0, deform_ratio: float = 1.0,
                 extra_extractor: bool = False, with_cp: bool = False):
        super().__init__()
        self.injector = Injector(dim, num_heads, n_points, 3, deform_ratio, norm_layer,
                                 init_values=init_values, with_cp=with_cp)

        def extractor() -> Extractor:
            return Extractor(dim, num_heads, n_points, deform_ratio, norm_layer,
                             with_cffn=with_cffn, cffn_ratio=cffn_ratio, drop=drop,
                             drop_path=drop_path, with_cp=with_cp)

        self.extractor = extractor()
        self.extra_extractors: Optional[nn.Sequential] = (
            nn.Sequential(extractor(), extractor()) if extra_extractor else None)

    def forward(self, x: Tensor, c: Tensor, blocks: Sequence[nn.Module],
                inject_inputs: DeformInputs, extract_inputs: DeformInputs,
                height: int, width: int) -> Tuple[Tensor, Tensor]:
        x = self.injector(x, c, inject_inputs)
        for block in blocks:
            x = block(x, height, width)
        c = self.extractor(c, x, extract_inputs, height, width)
        for extractor in self.extra_extractors or ():
            c = extractor(c, x, extract_inputs, height, width)
        return x, c


def _conv_bn_relu(in_ch: int, out_ch: int, stride: int, norm_cfg: dict) -> List[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False),
            build_norm_layer(norm_cfg, out_ch)[1], nn.ReLU(inplace=True)]


class SpatialPriorModule(nn.Module):
    """A small conv stem giving the local spatial prior at 1/4, 1/8, 1/16 and 1/32, each
    projected to ``embed_dim`` by a 1 x 1 conv (``fc1 .. fc4``).

    Input B x 3 x H x W; returns (c1 B x C x H/4 x W/4, then c2, c3, c4 as tokens
    B x (H/8 * W/8) x C, B x (H/16 * W/16) x C, B x (H/32 * W/32) x C). The original
    hard-codes SyncBatchNorm; ``norm_cfg`` (BN by default, same keys) lets one process run
    it, and mmengine's ``sync_bn`` turns it back for distributed training.
    """

    def __init__(self, inplanes: int = 64, embed_dim: int = 384,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        norm_cfg = norm_cfg or dict(type='BN')
        self.stem = nn.Sequential(
            *_conv_bn_relu(3, inplanes, 2, norm_cfg),
            *_conv_bn_relu(inplanes, inplanes, 1, norm_cfg),
            *_conv_bn_relu(inplanes, inplanes, 1, norm_cfg),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        self.conv2 = nn.Sequential(*_conv_bn_relu(inplanes, 2 * inplanes, 2, norm_cfg))
        self.conv3 = nn.Sequential(*_conv_bn_relu(2 * inplanes, 4 * inplanes, 2, norm_cfg))
        self.conv4 = nn.Sequential(*_conv_bn_relu(4 * inplanes, 4 * inplanes, 2, norm_cfg))
        self.fc1 = nn.Conv2d(inplanes, embed_dim, kernel_size=1)
        self.fc2 = nn.Conv2d(2 * inplanes, embed_dim, kernel_size=1)
        self.fc3 = nn.Conv2d(4 * inplanes, embed_dim, kernel_size=1)
        self.fc4 = nn.Conv2d(4 * inplanes, embed_dim, kernel_size=1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        c1 = self.stem(x)
        c2 = self.conv2(c1)
        c3 = self.conv3(c2)
        c4 = self.conv4(c3)
        tokens = [fc(c).flatten(2).transpose(1, 2)
                  for fc, c in ((self.fc2, c2), (self.fc3, c3), (self.fc4, c4))]
        return (self.fc1(c1), *tokens)
