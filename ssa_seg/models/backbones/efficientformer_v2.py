"""EfficientFormerV2 as CGRSeg uses it: a four-stage feature pyramid for segmentation.

Registered in mmseg's ``MODELS`` under the reference SSA-Seg/CGRSeg names
``efficientformerv2_{s0,s1,s2,l}_feat`` (CGRSeg-B uses S2, CGRSeg-L uses L), plus the generic
``EfficientFormerV2(arch=...)``. The state-dict keys are those of the reference checkpoints
(``backbone.patch_embed.*``, ``backbone.network.{0..6}.*``), so released weights load as they are.

Layout (``network`` alternates stages and downsampling embeddings)::

    patch_embed            3 -> C0, stride 4       (conv-BN-act twice)
    network.0              stage 0 at 1/4          (FFN blocks)
    network.1              1/4 -> 1/8              (conv 3x3 s2 + BN)
    network.2              stage 1 at 1/8          (FFN blocks)
    network.3              1/8 -> 1/16             (conv 3x3 s2 + BN)
    network.4              stage 2 at 1/16         (FFN blocks; the last ``vit_num`` blocks add
                                                    strided attention)
    network.5              1/16 -> 1/32            (conv 3x3 s2 + BN, plus downsampling attention)
    network.6              stage 3 at 1/32         (FFN blocks; the last ``vit_num`` add attention)

Attention biases, and how this differs from the classification model: each attention block
owns a table ``attention_biases_seg`` of shape (heads, R*R) for a grid laid out for a
``resolution`` x ``resolution`` training crop (512: R = 16 tokens a side in stage 2 after its
stride-2 reduction and in stage 3; the downsampling block's keys are 32 a side). It is gathered
through ``attention_bias_idxs_seg`` (|dy| * R + |dx|) into a (heads, 256, 256) or
(heads, 256, 1024) token-pair matrix, and that matrix is then resized **as an image**,
bicubically (align_corners False), to the actual (queries x keys) size at every forward: at a
256 x 256 input that is (64, 64) and (64, 256); at 224 x 288 it is (63, 63) and (63, 252).
This is not an interpolation of a 2D spatial grid; it is what the reference does, so we do it
too. ``attention_biases`` and ``attention_bias_idxs`` (all ones) are dead entries the reference
keeps (they absorb the ImageNet checkpoint's tables of the same name); they are kept here as
buffers only so that the state-dict keys match.

Why not timm's ``EfficientFormerV2`` with a key mapping (timm/models/efficientformer_v2.py,
read at pytorch-image-models aa4b5850c154):

* Bias handling differs in kind. timm's ``Attention2d``/``Attention2dDownsample`` add the
  gathered table directly, with no resizing, and reshape q/k/v with a fixed token count
  ``self.N`` fixed by ``img_size``: they run only at the one input size they were built for.
  CGRSeg evaluates whole images of any size (multiples of 32), which needs the per-forward
  bicubic resize of the token-pair matrix; timm has no hook for it, so its attention forward
  would have to be replaced, i.e. re-implemented.
* The index tables themselves agree (checked against the fixture's ``int_buffers``: timm's
  |dy| * R + |dx| for ``Attention2d`` and the stride-2 query grid for the downsampling block,
  equal to the reference's first-appearance offset numbering), and with ``img_size=512`` timm's
  parameter shapes (8, 256) / (8, 1024) would match; but timm's index buffer is non-persistent
  and it has no ``attention_biases_seg``/dead-buffer split, so four entries per block would have
  to be synthesised or dropped when loading.
* Layer scales: timm's ``LayerScale2d`` stores ``ls1.gamma``/``ls2.gamma`` of shape (C,); the
  reference stores ``layer_scale_1``/``layer_scale_2`` of shape (C, 1, 1) on the block.
* Key names differ throughout (``stem.conv1.conv`` vs ``patch_embed.0``, ``stages.i.blocks.j``
  vs ``network.2i.j``, ``stages.3.downsample.attn`` vs ``network.5.attn``, ``mlp.fc1.conv/bn``
  vs ``mlp.fc1``/``mlp.norm1``, ``proj.conv/bn`` with a separate ``act`` vs ``proj.1/2`` behind
  an activation at ``proj.0``). A mapping is possible but adds a conversion step to every load.
* timm is not a dependency of this project (mmseg 1.x + mmcv); the model is small.

So this module is its own implementation. The per-block computations (Mlp with a depthwise mid
conv, talking-heads attention with a local depthwise value branch, local-global queries in the
downsampling attention) follow the reference's order of operations exactly.

Other reference facts reproduced or documented:

* The attention blocks cache the gathered (not yet resized) bias in eval mode. The reference
  fills the cache when ``eval()`` is called, so weights loaded after ``eval()`` leave it stale;
  here the cache is filled lazily at the first eval forward and dropped by ``train()`` and by
  loading a state dict, so the order no longer matters (the values are the same).
* The reference ``EfficientFormer.train()`` keeps every ``nn.BatchNorm2d`` in eval mode. When a
  pretrained checkpoint is given (its normal use) it first converts the backbone's BN layers to
  SyncBN, which that check does not match, so they do train. We follow the pretrained behaviour
  (BN trains); ``norm_eval=True`` reproduces the frozen-BN variant.
* Stage inputs must have even sizes at 1/16 and 1/32, i.e. the image must be a multiple of 32
  (the reference computes ``H // 2`` for the strided attention and ``H * W // 4`` queries); the
  reference ADE20K test pipeline resizes images to multiples of 32 for that reason.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS
from torch import Tensor

# Widths, depths, per-block MLP expansion ratios, number of attention blocks at the end of
# stages 2 and 3, and the stochastic-depth rate of each variant (reference values).
ARCH_SETTINGS: Dict[str, dict] = {
    's0': dict(widths=(32, 48, 96, 176), depths=(2, 2, 6, 4), vit_num=2, drop_path_rate=0.0,
               mlp_ratios=((4,) * 2, (4,) * 2, (4, 3, 3, 3, 4, 4), (4, 3, 3, 4))),
    's1': dict(widths=(32, 48, 120, 224), depths=(3, 3, 9, 6), vit_num=2, drop_path_rate=0.0,
               mlp_ratios=((4,) * 3, (4,) * 3, (4, 4, 3, 3, 3, 3, 4, 4, 4),
                           (4, 4, 3, 3, 4, 4))),
    's2': dict(widths=(32, 64, 144, 288), depths=(4, 4, 12, 8), vit_num=4, drop_path_rate=0.02,
               mlp_ratios=((4,) * 4, (4,) * 4, (4, 4, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4),
                           (4, 4, 3, 3, 3, 3, 4, 4))),
    'l': dict(widths=(40, 80, 192, 384), depths=(5, 5, 15, 10), vit_num=6, drop_path_rate=0.1,
              mlp_ratios=((4,) * 5, (4,) * 5,
                          (4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4),
                          (4, 4, 4, 3, 3, 3, 3, 4, 4, 4))),
}

# Shapes of the dead tables (the ImageNet model's 7 x 7 grid), kept only for the keys.
_DEAD_TOKENS_Q = 49
_DEAD_TOKENS_K_DOWN = 196


def conv_norm(in_channels: int, out_channels: int, norm_cfg: dict, kernel_size: int = 1,
              stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (with bias) then norm, as a Sequential: keys ``.0.*`` (conv) and ``.1.*`` (norm)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                  padding=kernel_size // 2, groups=groups),
        build_norm_layer(norm_cfg, out_channels)[1])


def token_pair_bias_index(q_side: int, k_side: int) -> Tensor:
    """(q_side^2, k_side^2) int64 index into a (heads, k_side^2) bias table.

    Queries sit on a ``q_side`` grid with step ``k_side // q_side`` over the ``k_side`` key
    grid (step 1: plain self-attention). The index of a (query, key) pair is
    ``|dy| * k_side + |dx|`` of their grid offset, so every distinct offset has one entry.
    """
    step = k_side // q_side
    ky, kx = torch.meshgrid(torch.arange(k_side), torch.arange(k_side), indexing='ij')
    qy, qx = ky[::step, ::step], kx[::step, ::step]
    dy = (qy.reshape(-1, 1) - ky.reshape(1, -1)).abs()
    dx = (qx.reshape(-1, 1) - kx.reshape(1, -1)).abs()
    return dy * k_side + dx


class ResizedBiasMixin:
    """Learned attention bias resized to the actual attention size (see the module docstring).

    Registers ``attention_biases_seg`` (heads, k_side^2) and the persistent index buffer
    ``attention_bias_idxs_seg``, plus the two dead entries, in the reference's order.
    """

    def _init_bias(self, num_heads: int, q_side: int, k_side: int, dead_k_tokens: int) -> None:
        self.attention_biases_seg = nn.Parameter(torch.zeros(num_heads, k_side * k_side))
        self.register_buffer('attention_biases', torch.zeros(num_heads, dead_k_tokens))
        self.register_buffer('attention_bias_idxs',
                             torch.ones(_DEAD_TOKENS_Q, dead_k_tokens, dtype=torch.long))
        self.register_buffer('attention_bias_idxs_seg', token_pair_bias_index(q_side, k_side))
        self._bias_cache: Optional[Tensor] = None

    def _gathered_bias(self) -> Tensor:
        """(heads, Nq_table, Nk_table); in eval mode a constant cached until train()/load."""
        if self.training:
            return self.attention_biases_seg[:, self.attention_bias_idxs_seg]
        if self._bias_cache is None:
            with torch.no_grad():
                self._bias_cache = self.attention_biases_seg[:, self.attention_bias_idxs_seg]
        return self._bias_cache

    def resized_bias(self, attn: Tensor) -> Tensor:
        """1 x heads x Nq x Nk: the token-pair bias matrix bicubically resized to ``attn``."""
        return F.interpolate(self._gathered_bias().unsqueeze(0), size=attn.shape[-2:],
                             mode='bicubic', align_corners=False)

    def train(self, mode: bool = True):
        self._bias_cache = None
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs):
        self._bias_cache = None
        super()._load_from_state_dict(*args, **kwargs)


class Attention4D(ResizedBiasMixin, nn.Module):
    """Talking-heads self-attention on a feature map, optionally on a stride-2 reduced grid.

    x: B x C x H x W -> B x C x H x W. With ``stride=2`` the tokens are those of a depthwise
    stride-2 conv of x (H/2 x W/2) and the result is upsampled bilinearly back to H x W.
    q, k: ``key_dim`` per head; v: ``attn_ratio * key_dim`` per head, plus a depthwise 3x3
    ``v_local`` branch added after attention. ``resolution`` is the token side the bias
    table is laid out for (before the stride).
    """

    def __init__(self, dim: int, act_cfg: dict, norm_cfg: dict, key_dim: int = 32,
                 num_heads: int = 8, attn_ratio: int = 4, resolution: int = 7,
                 stride: Optional[int] = None):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.scale = key_dim ** -0.5
        self.d = attn_ratio * key_dim               # value channels per head
        self.dh = self.d * num_heads
        self.stride = stride
        side = math.ceil(resolution / stride) if stride else resolution
        self._init_bias(num_heads, side, side, _DEAD_TOKENS_Q)
        if stride:
            self.stride_conv = conv_norm(dim, dim, norm_cfg, 3, stride=stride, groups=dim)
        else:
            self.stride_conv = None
        qk = num_heads * key_dim
        self.q = conv_norm(dim, qk, norm_cfg)
        self.k = conv_norm(dim, qk, norm_cfg)
        self.v = conv_norm(dim, self.dh, norm_cfg)
        self.v_local = conv_norm(self.dh, self.dh, norm_cfg, 3, groups=self.dh)
        # "Talking heads": 1x1 convs mixing the heads before and after the softmax.
        self.talking_head1 = nn.Conv2d(num_heads, num_heads, 1)
        self.talking_head2 = nn.Conv2d(num_heads, num_heads, 1)
        self.proj = nn.Sequential(build_activation_layer(act_cfg),
                                  *conv_norm(self.dh, dim, norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        if self.stride_conv is not None:
            x = self.stride_conv(x)
        h, w = x.shape[-2:]
        n = h * w
        q = self.q(x).reshape(b, self.num_heads, self.key_dim, n).transpose(-2, -1)  # B h N kd
        k = self.k(x).reshape(b, self.num_heads, self.key_dim, n)                    # B h kd N
        v = self.v(x)
        v_local = self.v_local(v)
        v = v.reshape(b, self.num_heads, self.d, n).transpose(-2, -1)                 # B h N d

        attn = (q @ k) * self.scale
        attn = attn + self.resized_bias(attn)
        attn = self.talking_head2(self.talking_head1(attn).softmax(dim=-1))

        out = (attn @ v).transpose(-2, -1).reshape(b, self.dh, h, w) + v_local
        if self.stride:
            out = F.interpolate(out, scale_factor=self.stride, mode='bilinear',
                                align_corners=False)
        return self.proj(out)


class LocalGlobalQuery(nn.Module):
    """Stride-2 queries: depthwise 3x3 s2 conv (local) + 2x subsampling (global), then 1x1.

    x: B x C x H x W -> B x out_dim x H/2 x W/2.
    """

    def __init__(self, in_dim: int, out_dim: int, norm_cfg: dict):
        super().__init__()
        self.local = nn.Sequential(
            nn.Conv2d(in_dim, in_dim, 3, stride=2, padding=1, groups=in_dim))
        self.proj = conv_norm(in_dim, out_dim, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        # AvgPool2d(kernel 1, stride 2) in the reference: plain subsampling.
        return self.proj(self.local(x) + F.avg_pool2d(x, 1, 2))


class Attention4DDownsample(ResizedBiasMixin, nn.Module):
    """Attention that halves the resolution: H/2 x W/2 queries attend to all H x W keys.

    x: B x C x H x W -> B x out_dim x H/2 x W/2. ``resolution`` is the key-grid side the bias
    table is laid out for.
    """

    def __init__(self, dim: int, out_dim: int, act_cfg: dict, norm_cfg: dict,
                 key_dim: int = 16, num_heads: int = 8, attn_ratio: int = 4,
                 resolution: int = 7):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.scale = key_dim ** -0.5
        self.d = attn_ratio * key_dim
        self.dh = self.d * num_heads
        self._init_bias(num_heads, math.ceil(resolution / 2), resolution, _DEAD_TOKENS_K_DOWN)
        qk = num_heads * key_dim
        self.q = LocalGlobalQuery(dim, qk, norm_cfg)
        self.k = conv_norm(dim, qk, norm_cfg)
        self.v = conv_norm(dim, self.dh, norm_cfg)
        self.v_local = conv_norm(self.dh, self.dh, norm_cfg, 3, stride=2, groups=self.dh)
        self.proj = nn.Sequential(build_activation_layer(act_cfg),
                                  *conv_norm(self.dh, out_dim, norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        q = self.q(x)
        hq, wq = q.shape[-2:]
        q = q.reshape(b, self.num_heads, self.key_dim, hq * wq).transpose(-2, -1)  # B h Nq kd
        k = self.k(x).reshape(b, self.num_heads, self.key_dim, h * w)              # B h kd Nk
        v = self.v(x)
        v_local = self.v_local(v)
        v = v.reshape(b, self.num_heads, self.d, h * w).transpose(-2, -1)           # B h Nk d

        attn = (q @ k) * self.scale
        attn = (attn + self.resized_bias(attn)).softmax(dim=-1)
        out = (attn @ v).transpose(-2, -1).reshape(b, self.dh, hq, wq) + v_local
        return self.proj(out)


class ConvMlp(nn.Module):
    """1x1 expand, depthwise 3x3, 1x1 project, each followed by its norm.

    x: B x C x H x W -> B x C x H x W. Order: fc1, norm1, act, mid, mid_norm, act, fc2, norm2.
    """

    def __init__(self, dim: int, hidden: int, act_cfg: dict, norm_cfg: dict, drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden, dim, 1)
        self.drop = nn.Dropout(drop)
        self.mid = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.mid_norm = build_norm_layer(norm_cfg, hidden)[1]
        self.norm1 = build_norm_layer(norm_cfg, hidden)[1]
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.norm1(self.fc1(x)))
        x = self.drop(self.act(self.mid_norm(self.mid(x))))
        return self.drop(self.norm2(self.fc2(x)))


class EfficientFormerBlock(nn.Module):
    """Residual block: [x + ls1 * attention(x)] then x + ls2 * mlp(x).

    Without attention (``attention=False``) only the MLP half exists (no ``token_mixer`` and
    no ``layer_scale_1``). Layer scales have shape (C, 1, 1), as in the reference.
    """

    def __init__(self, dim: int, mlp_ratio: float, attention: bool, resolution: int,
                 stride: Optional[int], act_cfg: dict, norm_cfg: dict, drop: float = 0.,
                 drop_path: float = 0., layer_scale_init_value: float = 1e-5):
        super().__init__()
        if attention:
            self.token_mixer = Attention4D(dim, resolution=resolution, stride=stride,
                                           act_cfg=act_cfg, norm_cfg=norm_cfg)
        else:
            self.token_mixer = None
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), act_cfg, norm_cfg, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if attention:
            self.layer_scale_1 = nn.Parameter(torch.full((dim, 1, 1), layer_scale_init_value))
        self.layer_scale_2 = nn.Parameter(torch.full((dim, 1, 1), layer_scale_init_value))

    def forward(self, x: Tensor) -> Tensor:
        if self.token_mixer is not None:
            x = x + self.drop_path(self.layer_scale_1 * self.token_mixer(x))
        return x + self.drop_path(self.layer_scale_2 * self.mlp(x))


class PatchDownsample(nn.Module):
    """Between stages: conv 3x3 stride 2 + norm (``proj``/``norm``); with ``attention`` the
    conv path is ``conv``/``bn`` and a downsampling attention (``attn``) is added to it.

    x: B x C_in x H x W -> B x C_out x H/2 x W/2.
    """

    def __init__(self, in_dim: int, out_dim: int, attention: bool, resolution: int,
                 act_cfg: dict, norm_cfg: dict):
        super().__init__()
        self.attention = attention
        if attention:
            self.attn = Attention4DDownsample(in_dim, out_dim, resolution=resolution,
                                              act_cfg=act_cfg, norm_cfg=norm_cfg)
            self.conv = nn.Conv2d(in_dim, out_dim, 3, stride=2, padding=1)
            self.bn = build_norm_layer(norm_cfg, out_dim)[1]
        else:
            self.proj = nn.Conv2d(in_dim, out_dim, 3, stride=2, padding=1)
            self.norm = build_norm_layer(norm_cfg, out_dim)[1]

    def forward(self, x: Tensor) -> Tensor:
        if self.attention:
            return self.attn(x) + self.bn(self.conv(x))
        return self.norm(self.proj(x))


@MODELS.register_module()
class EfficientFormerV2(BaseModule):
    """EfficientFormerV2 feature extractor (the reference's ``fork_feat`` form).

    Args:
        arch: 's0', 's1', 's2' or 'l' (see :data:`ARCH_SETTINGS`).
        resolution: training crop side the attention-bias tables are laid out for (512 in
            the reference; it fixes the table shapes, not the input size).
        out_indices: stages whose outputs are returned (strides 4, 8, 16, 32).
        act_cfg, norm_cfg: activation (default GELU) and norm (default BN) everywhere.
        drop_path_rate: stochastic depth; None uses the variant's reference rate.
        norm_eval: keep the norm layers in eval mode during training (see module docstring).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads an EfficientFormerV2
            ImageNet checkpoint (``{'model': ...}`` or ``{'state_dict': ...}``) non-strictly,
            as the reference does; the segmentation bias tables then start at zero.

    Returns a tuple of B x C_i x H/2^(i+2) x W/2^(i+2) tensors; H and W multiples of 32.
    """

    def __init__(self, arch: str = 's2', resolution: int = 512,
                 out_indices: Sequence[int] = (0, 1, 2, 3), drop_path_rate: Optional[float] = None,
                 drop_rate: float = 0., layer_scale_init_value: float = 1e-5,
                 act_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False, init_cfg: Optional[dict] = None, **kwargs):
        # ``style`` and other mmseg 0.x backbone keys in the reference configs are ignored.
        kwargs.pop('style', None)
        if kwargs:
            raise TypeError(f'unexpected arguments: {sorted(kwargs)}')
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'arch must be one of {sorted(ARCH_SETTINGS)}, got {arch!r}')
        setting = ARCH_SETTINGS[arch]
        widths, depths = setting['widths'], setting['depths']
        if drop_path_rate is None:
            drop_path_rate = setting['drop_path_rate']
        self.arch, self.widths = arch, widths
        self.out_indices = tuple(out_indices)
        self.norm_eval = norm_eval
        act_cfg = act_cfg or dict(type='GELU')
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)

        act = build_activation_layer
        c0 = widths[0]
        self.patch_embed = nn.Sequential(
            nn.Conv2d(3, c0 // 2, 3, stride=2, padding=1),
            build_norm_layer(norm_cfg, c0 // 2)[1], act(act_cfg),
            nn.Conv2d(c0 // 2, c0, 3, stride=2, padding=1),
            build_norm_layer(norm_cfg, c0)[1], act(act_cfg))

        total = sum(depths)
        network = []
        for i, depth in enumerate(depths):
            side = math.ceil(resolution / 2 ** (i + 2))     # token side of stage i at the crop
            blocks = []
            for j in range(depth):
                # Linear stochastic-depth schedule over all blocks of the network.
                dpr = drop_path_rate * (j + sum(depths[:i])) / (total - 1)
                attention = i >= 2 and j > depth - 1 - setting['vit_num']
                blocks.append(EfficientFormerBlock(
                    widths[i], setting['mlp_ratios'][i][j], attention, side,
                    stride=2 if i == 2 else None, act_cfg=act_cfg, norm_cfg=norm_cfg,
                    drop=drop_rate, drop_path=dpr, layer_scale_init_value=layer_scale_init_value))
            network.append(nn.Sequential(*blocks))
            if i < len(depths) - 1:
                network.append(PatchDownsample(widths[i], widths[i + 1], attention=i >= 2,
                                               resolution=side, act_cfg=act_cfg,
                                               norm_cfg=norm_cfg))
        self.network = nn.ModuleList(network)

    def init_weights(self) -> None:
        if self.init_cfg and self.init_cfg.get('type') == 'Pretrained':
            self._load_pretrained(self.init_cfg['checkpoint'])
            self._is_init = True
            return
        # Reference initialisation: MLP 1x1 convs truncated normal (std 0.02), zero bias;
        # everything else keeps PyTorch's default, bias tables zero, layer scales 1e-5.
        for m in self.modules():
            if isinstance(m, ConvMlp):
                for conv in (m.fc1, m.fc2):
                    trunc_normal_(conv.weight, std=0.02)
                    nn.init.zeros_(conv.bias)
        super().init_weights()

    def _load_pretrained(self, path: str) -> None:
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
        state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v
                 for k, v in state.items()}
        missing, unexpected = self.load_state_dict(state, strict=False)
        print_log(f'EfficientFormerV2: loaded {path} non-strictly; {len(missing)} missing '
                  f'(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})',
                  logger='current')

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.patch_embed(x)
        outs = []
        for idx, layer in enumerate(self.network):
            x = layer(x)
            # Stages sit at even positions of ``network``.
            if idx % 2 == 0 and idx // 2 in self.out_indices:
                outs.append(x)
        return tuple(outs)


def _register_variant(name: str, arch: str) -> type:
    """The reference's per-variant backbone type names (``efficientformerv2_s2_feat``, ...)."""

    def __init__(self, **kwargs):
        EfficientFormerV2.__init__(self, arch=arch, **kwargs)

    cls = type(name, (EfficientFormerV2,), {
        '__init__': __init__,
        '__doc__': f'EfficientFormerV2-{arch.upper()} features (reference type name).'})
    MODELS.register_module(name=name, module=cls)
    return cls


efficientformerv2_s0_feat = _register_variant('efficientformerv2_s0_feat', 's0')
efficientformerv2_s1_feat = _register_variant('efficientformerv2_s1_feat', 's1')
efficientformerv2_s2_feat = _register_variant('efficientformerv2_s2_feat', 's2')
efficientformerv2_l_feat = _register_variant('efficientformerv2_l_feat', 'l')
