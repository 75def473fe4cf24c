"""AFFormer (Adaptive Frequency Filters, Dong et al., AAAI 2023), the backbone of the
reference SSA-Seg AFFormer configs, registered as ``afformer_base``, ``afformer_small`` and
``afformer_tiny`` (and the configurable ``AFFormer``).

Layout (B batch, C_i channels of stage i, input H x W):

* ``stem``: two stride-2 3x3 conv-BN-Hardswish blocks, 3 -> C_0/2 -> C_0, at H/4.
* four stages. Each first runs ``patch_embed_stages[i]``: two depthwise-separable embeds in
  sequence (both outputs kept), then ``mhca_stages[i]``:
  - a local branch ``Restore`` (a residual bottleneck) on the first embed;
  - a global branch (stages 1-3) on the second, lower-resolution embed: a token encoder of
    frequency-filter attention blocks, whose output is resized back (bilinear,
    align_corners=True) to the local branch and added to it (stage 0: the two embeds are
    added before ``Restore`` and there is no encoder);
  - ``aggregate``: a 1x1 conv-BN-Hardswish to the next stage's width.

  Resolutions: stage 0 at H/4; stage 1 embeds down to H/8 and stays there; the global branch
  of stage 2 works at H/16 and that of stage 3 at H/32, but both stages output H/8. So all
  four outputs but the first are at H/8: ``[B x C_1 x H/4, B x C_2 x H/8, B x C_3 x H/8,
  B x C_3 x H/8]`` (the last stage keeps its width).

Module and attribute names are those of the reference implementation, so its checkpoints
load without key conversion. In particular each encoder owns one conditional position
encoding (``cpe``) and one frequency filter (``crpe``), and every block of the encoder
holds the very same two modules again (as ``cpe``/``crpe`` and ``factoratt_crpe.crpe``). A
state dict therefore lists each of their tensors under several names; they are one
parameter, so loading sets it once per name and accepts only identical values in practice.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

Size = Tuple[int, int]


def _tokens_to_map(x: Tensor, size: Size) -> Tensor:
    """B x N x C tokens -> B x C x H x W feature map (N = H * W, row-major)."""
    b, _, c = x.shape
    return x.transpose(1, 2).reshape(b, c, *size)


def _map_to_tokens(x: Tensor) -> Tensor:
    """B x C x H x W -> B x N x C."""
    return x.flatten(2).transpose(1, 2)


def _conv_bn(in_channels: int, out_channels: int, norm_cfg: dict, act: bool,
             kernel_size: int = 1, stride: int = 1) -> ConvModule:
    """Conv (no bias) -> norm -> optional Hardswish; keys ``conv.*`` and ``bn.*``."""
    return ConvModule(in_channels, out_channels, kernel_size, stride=stride,
                      padding=kernel_size // 2, bias=False, norm_cfg=norm_cfg,
                      act_cfg=dict(type='HSwish') if act else None)


class DepthwiseSeparableEmbed(nn.Module):
    """Depthwise 3x3 (stride s) -> pointwise 1x1 -> norm -> Hardswish, C -> C.

    B x C x H x W -> B x C x ceil(H/s) x ceil(W/s).
    """

    def __init__(self, channels: int, stride: int, norm_cfg: dict, kernel_size: int = 3):
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, kernel_size, stride, (kernel_size - 1) // 2,
                                groups=channels, bias=False)
        self.pwconv = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = build_norm_layer(norm_cfg, channels)[1]
        self.act = nn.Hardswish()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.pwconv(self.dwconv(x))))


class PatchEmbed(nn.Module):
    """One embed of a stage; the extra level of nesting is the reference's key layout
    (``patch_embeds.<i>.patch_conv.*``)."""

    def __init__(self, channels: int, stride: int, norm_cfg: dict):
        super().__init__()
        self.patch_conv = DepthwiseSeparableEmbed(channels, stride, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.patch_conv(x)


def embed_strides(stage: int) -> Tuple[int, int]:
    """Strides of the (local, global) embeds of a stage.

    Stage 1 halves the resolution before both branches; stages 2 and 3 keep it for the local
    branch and downsample only the global branch (by 2 and by 4).
    """
    return {0: (1, 1), 1: (2, 1), 2: (1, 2), 3: (1, 4)}[stage]


class PatchEmbedStage(nn.Module):
    """Two embeds applied in sequence; returns both outputs [local input, global input]."""

    def __init__(self, channels: int, stage: int, norm_cfg: dict):
        super().__init__()
        self.patch_embeds = nn.ModuleList(
            PatchEmbed(channels, stride, norm_cfg) for stride in embed_strides(stage))

    def forward(self, x: Tensor) -> List[Tensor]:
        outs = []
        for embed in self.patch_embeds:
            x = embed(x)
            outs.append(x)
        return outs


class ConvPosEnc(nn.Module):
    """Conditional position encoding: tokens + depthwise 3x3 conv of their map.

    B x N x C -> B x N x C.
    """

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__()
        self.proj = nn.Conv2d(channels, channels, kernel_size, 1, kernel_size // 2,
                              groups=channels)

    def forward(self, x: Tensor, size: Size) -> Tensor:
        feat = _tokens_to_map(x, size)
        return _map_to_tokens(self.proj(feat) + feat)


class LowPass(nn.Module):
    """Low-frequency part of the frequency filter (parameter-free).

    The channels are split in four equal groups; group j is average-pooled to a
    ``sizes[j]`` x ``sizes[j]`` grid and upsampled back (bilinear, align_corners=False), then
    all groups are concatenated and passed through ReLU. B x C x H x W -> B x C x H x W.
    """

    def __init__(self, channels: int, sizes: Sequence[int] = (1, 2, 3, 6)):
        super().__init__()
        if channels % len(sizes):
            raise ValueError(f'LowPass needs channels divisible by {len(sizes)}, got {channels}')
        self.sizes = tuple(sizes)
        self.split = channels // len(sizes)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[2:]
        groups = torch.split(x, self.split, dim=1)
        pooled = [F.interpolate(F.adaptive_avg_pool2d(g, s), size=size, mode='bilinear',
                                align_corners=False)
                  for g, s in zip(groups, self.sizes, strict=True)]
        return F.relu(torch.cat(pooled, dim=1))


class FrequencyFilter(nn.Module):
    """Adaptive frequency filter, the reference's ``crpe``: ``q * HP(v) + LP(v)``.

    HP: depthwise convs over head groups of v (windows 3/5/7 on 2/3/3 heads by default);
    LP: :class:`LowPass` over all of v. q, v: B x h x N x d -> B x h x N x d.
    """

    def __init__(self, head_dim: int, num_heads: int, windows: Optional[dict] = None):
        super().__init__()
        windows = {3: 2, 5: 3, 7: 3} if windows is None else windows
        if sum(windows.values()) != num_heads:
            raise ValueError(f'filter windows {windows} cover {sum(windows.values())} heads, '
                             f'not {num_heads}')
        self.conv_list = nn.ModuleList()
        self.channel_splits = []
        for window, heads in windows.items():
            channels = heads * head_dim
            self.conv_list.append(nn.Conv2d(channels, channels, window, padding=window // 2,
                                            groups=channels))
            self.channel_splits.append(channels)
        self.LP = LowPass(head_dim * num_heads)

    def forward(self, q: Tensor, v: Tensor, size: Size) -> Tensor:
        b, h, n, d = v.shape
        # Heads side by side as channels: channel index = head * d + j.
        v_map = v.transpose(2, 3).reshape(b, h * d, *size)
        low = self.LP(v_map)
        parts = torch.split(v_map, self.channel_splits, dim=1)
        high = torch.cat([conv(part) for conv, part in zip(self.conv_list, parts, strict=True)],
                         dim=1)
        high, low = (t.reshape(b, h, d, n).transpose(2, 3) for t in (high, low))
        return q * high + low


class FrequencyAttention(nn.Module):
    """Linear (factorised) attention plus the frequency filter, the ``factoratt_crpe``.

    ``scale * q (softmax_N(k)^T v) + crpe(q, v)``, heads merged, then ``proj``.
    B x N x C -> B x N x C.
    """

    def __init__(self, channels: int, num_heads: int, crpe: FrequencyFilter,
                 qkv_bias: bool = True, qk_scale: Optional[float] = None):
        super().__init__()
        self.num_heads = num_heads
        self.scale = qk_scale or (channels // num_heads) ** -0.5
        self.qkv = nn.Linear(channels, channels * 3, bias=qkv_bias)
        self.proj = nn.Linear(channels, channels)
        self.crpe = crpe   # shared with the encoder (see the module docstring)

    def forward(self, x: Tensor, size: Size) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads) \
            .permute(2, 0, 3, 1, 4)                              # each B x h x N x d
        context = k.softmax(dim=2).transpose(2, 3) @ v           # B x h x d x d
        out = self.scale * (q @ context) + self.crpe(q, v, size)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class TokenDWConv(nn.Module):
    """Depthwise 3x3 conv (with bias) on tokens: B x N x C -> B x N x C."""

    def __init__(self, channels: int):
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 3, 1, 1, groups=channels)

    def forward(self, x: Tensor, size: Size) -> Tensor:
        return _map_to_tokens(self.dwconv(_tokens_to_map(x, size)))


class ConvMlp(nn.Module):
    """``fc2(GELU(h + dwconv(h)))`` with ``h = fc1(x)``: B x N x C -> B x N x C."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.dwconv = TokenDWConv(hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: Tensor, size: Size) -> Tensor:
        x = self.fc1(x)
        return self.fc2(self.act(x + self.dwconv(x, size)))


class FrequencyBlock(nn.Module):
    """Pre-norm transformer block: cpe, then x + attn(norm1(x)), then x + mlp(norm2(x)).

    ``cpe`` and ``crpe`` are the encoder's shared modules. B x N x C -> B x N x C.
    """

    def __init__(self, channels: int, num_heads: int, mlp_ratio: int, drop_path: float,
                 cpe: ConvPosEnc, crpe: FrequencyFilter):
        super().__init__()
        # Registration order fixes the state-dict order: cpe, crpe, factoratt_crpe, mlp, norms.
        self.cpe = cpe
        self.crpe = crpe
        self.factoratt_crpe = FrequencyAttention(channels, num_heads, crpe)
        self.mlp = ConvMlp(channels, channels * mlp_ratio)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm1 = nn.LayerNorm(channels, eps=1e-6)
        self.norm2 = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, x: Tensor, size: Size) -> Tensor:
        x = self.cpe(x, size)
        x = x + self.drop_path(self.factoratt_crpe(self.norm1(x), size))
        return x + self.drop_path(self.mlp(self.norm2(x), size))


class FrequencyEncoder(nn.Module):
    """A stage's global branch: ``num_layers`` blocks sharing one ``cpe`` and one ``crpe``.

    B x N x C tokens of an H x W map -> B x C x H x W.
    """

    def __init__(self, channels: int, num_layers: int, num_heads: int, mlp_ratio: int,
                 drop_paths: Sequence[float]):
        super().__init__()
        self.cpe = ConvPosEnc(channels)
        self.crpe = FrequencyFilter(channels // num_heads, num_heads)
        self.MHCA_layers = nn.ModuleList(
            FrequencyBlock(channels, num_heads, mlp_ratio, drop_paths[i], self.cpe, self.crpe)
            for i in range(num_layers))

    def forward(self, x: Tensor, size: Size) -> Tensor:
        for layer in self.MHCA_layers:
            x = layer(x, size)
        return _tokens_to_map(x, size)


class Restore(nn.Module):
    """Local branch: ``x + conv2(act(norm(dwconv(conv1(x)))))`` through C/2 channels.

    conv1: 1x1 conv-BN-Hardswish; dwconv: depthwise 3x3 without bias; conv2: 1x1 conv-BN.
    B x C x H x W -> B x C x H x W.
    """

    def __init__(self, channels: int, norm_cfg: dict):
        super().__init__()
        hidden = channels // 2
        self.conv1 = _conv_bn(channels, hidden, norm_cfg, act=True)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False)
        self.norm = build_norm_layer(norm_cfg, hidden)[1]
        self.act = nn.Hardswish()
        self.conv2 = _conv_bn(hidden, channels, norm_cfg, act=False)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.norm(self.dwconv(self.conv1(x)))))


class AFFStage(nn.Module):
    """Local branch + (from stage 1 on) global branch, summed, then ``aggregate``.

    [local B x C x H x W, global B x C x h x w] -> B x C_out x H x W.
    """

    def __init__(self, stage: int, channels: int, out_channels: int, num_layers: int,
                 num_heads: int, mlp_ratio: int, drop_paths: Sequence[float], norm_cfg: dict):
        super().__init__()
        self.stage = stage
        self.Restore = Restore(channels, norm_cfg)
        self.aggregate = _conv_bn(channels, out_channels, norm_cfg, act=True)
        if stage > 0:
            # A list of one encoder: the reference's layout (one per attention path).
            self.mhca_blks = nn.ModuleList(
                [FrequencyEncoder(channels, num_layers, num_heads, mlp_ratio, drop_paths)])

    def forward(self, inputs: List[Tensor]) -> Tensor:
        local, glob = inputs
        if self.stage == 0:
            return self.aggregate(self.Restore(local + glob))
        size = glob.shape[2:]
        glob = self.mhca_blks[0](_map_to_tokens(glob), size)
        if glob.shape[2:] != local.shape[2:]:
            glob = F.interpolate(glob, size=local.shape[2:], mode='bilinear', align_corners=True)
        return self.aggregate(self.Restore(local) + glob)


@MODELS.register_module()
class AFFormer(BaseModule):
    """AFFormer backbone; returns the four stage outputs (see the module docstring).

    Args:
        embed_dims: channels C_0..C_3 of the four stages.
        num_layers: attention blocks per stage (stage 0 has none, its value is unused).
        num_heads, mlp_ratios: per stage.
        drop_path_rate: stochastic depth, rising linearly over all blocks.
        in_channels: image channels.
        norm_cfg: the convolutions' norm; default plain BN, as the reference (which keeps
            it unsynchronised in multi-GPU runs too).
        strides, num_path: accepted for the reference configs; only their single supported
            values ([4, 2, 2, 2], one path per stage) are allowed.
        pretrained: deprecated path of an ImageNet checkpoint, same as
            ``init_cfg=dict(type='Pretrained', checkpoint=path)``.
    """

    def __init__(self,
                 embed_dims: Sequence[int] = (32, 96, 176, 216),
                 num_layers: Sequence[int] = (1, 2, 6, 2),
                 num_heads: Sequence[int] = (8, 8, 8, 8),
                 mlp_ratios: Sequence[int] = (2, 2, 2, 2),
                 drop_path_rate: float = 0.0,
                 in_channels: int = 3,
                 norm_cfg: Optional[dict] = None,
                 strides: Sequence[int] = (4, 2, 2, 2),
                 num_path: Sequence[int] = (1, 1, 1, 1),
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('give either pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='BN', requires_grad=True) if norm_cfg is None else norm_cfg
        if list(strides) != [4, 2, 2, 2]:
            raise ValueError(f'AFFormer has fixed strides [4, 2, 2, 2], got {list(strides)}')
        if any(p != 1 for p in num_path):
            raise ValueError(f'only one attention path per stage is supported, got {num_path}')
        num_stages = len(embed_dims)
        if num_stages != 4:
            raise ValueError(f'AFFormer has four stages, got embed_dims={embed_dims}')

        self.stem = nn.Sequential(
            _conv_bn(in_channels, embed_dims[0] // 2, norm_cfg, act=True, kernel_size=3,
                     stride=2),
            _conv_bn(embed_dims[0] // 2, embed_dims[0], norm_cfg, act=True, kernel_size=3,
                     stride=2))
        self.patch_embed_stages = nn.ModuleList(
            PatchEmbedStage(embed_dims[i], i, norm_cfg) for i in range(num_stages))
        rates = torch.linspace(0, drop_path_rate, sum(num_layers)).tolist()
        starts = [sum(num_layers[:i]) for i in range(num_stages)]
        self.mhca_stages = nn.ModuleList(
            AFFStage(i, embed_dims[i], embed_dims[min(i + 1, num_stages - 1)], num_layers[i],
                     num_heads[i], mlp_ratios[i],
                     rates[starts[i]:starts[i] + num_layers[i]], norm_cfg)
            for i in range(num_stages))

    def init_weights(self):
        """A checkpoint if ``init_cfg`` names one; else the reference initialisation."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.LayerNorm, nn.modules.batchnorm._BatchNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                # He init over the outputs of one group (fan_out / groups).
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> List[Tensor]:
        """B x 3 x H x W -> [B x C_1 x H/4, B x C_2 x H/8, B x C_3 x H/8, B x C_3 x H/8]."""
        x = self.stem(x)
        outs = []
        for embed, stage in zip(self.patch_embed_stages, self.mhca_stages, strict=True):
            x = stage(embed(x))
            outs.append(x)
        return outs


@MODELS.register_module()
class afformer_base(AFFormer):  # lower case: the reference's registered name
    """AFFormer-base: widths 32/96/176/216, blocks 1/2/6/2 (2.84 M parameters)."""

    def __init__(self, **kwargs):
        super().__init__(embed_dims=(32, 96, 176, 216), num_layers=(1, 2, 6, 2), **kwargs)


@MODELS.register_module()
class afformer_small(AFFormer):
    """AFFormer-small: widths 32/64/176/216, blocks 1/2/4/2."""

    def __init__(self, **kwargs):
        super().__init__(embed_dims=(32, 64, 176, 216), num_layers=(1, 2, 4, 2), **kwargs)


@MODELS.register_module()
class afformer_tiny(AFFormer):
    """AFFormer-tiny: widths 32/64/160/216, blocks 1/2/4/2."""

    def __init__(self, **kwargs):
        super().__init__(embed_dims=(32, 64, 160, 216), num_layers=(1, 2, 4, 2), **kwargs)
