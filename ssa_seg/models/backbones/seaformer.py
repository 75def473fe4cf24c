"""SeaFormer backbone (Wan et al., "SeaFormer: Squeeze-enhanced Axial Transformer for Mobile
Semantic Segmentation", ICLR 2023), as used by SSA-Seg's SeaFormer configs.

Layout of the network (strides relative to the input):

* ``smb1 .. smb5``: stacks of MobileNetV2 inverted residuals. ``smb1`` starts with a stride-2
  stem; each stack's first block sets its stride (1/4, 1/8, 1/16, 1/32, 1/64 after ``smb1 .. 5``
  in the released settings).
* ``trans1 .. transN``: SeaFormer blocks (squeeze-enhanced axial attention + conv MLP) that
  follow the LAST N mobile stacks, at the same resolution.

Outputs: the 1/8 feature of ``smb2``, then the output of every ``trans`` stage. SeaFormer-L
(3 transformer stages) gives 4 maps at 1/8, 1/16, 1/32, 1/64; SeaFormer-B (2 stages) gives
3 maps at 1/8, 1/32, 1/64 (its 1/16 stack is only a pass-through).

Module and attribute names follow the released checkpoints (``smb1.layer1.conv.0.c.weight``,
``trans1.transformer_blocks.0.attn.pos_emb_rowq.pos_embed``, ...) so they load unconverted.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from ...checkpoint import read_checkpoint

# (kernel, expand ratio, output channels, stride) of one inverted residual.
BlockSpec = Sequence[int]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (MobileNet channel rule): never
    below ``divisor`` and never more than 10% below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBN(nn.Sequential):
    """Bias-free ``Conv2d`` (child ``c``) followed by a norm layer (child ``bn``).

    A ``Sequential`` with these two child names because the checkpoints store ``*.c.weight``
    and ``*.bn.*``. ``bn_weight_init=0`` makes a freshly built layer output zeros (its BN
    bias is 0 too); the reference does this on the attention's output projections.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 stride: int = 1, padding: int = 0, groups: int = 1, bn_weight_init: float = 1.0,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        self.add_module('c', nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                                       groups=groups, bias=False))
        bn = build_norm_layer(norm_cfg or dict(type='BN'), out_channels)[1]
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module('bn', bn)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand -> act] -> kxk depthwise -> act -> 1x1 project.

    ``conv`` is one ``Sequential`` whose indices (0, 2, 4 with expansion; 0, 2 without) are the
    checkpoint's. The residual is added when the block keeps shape (stride 1, same channels).
    Input B x Cin x H x W -> B x Cout x H/s x W/s.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratio: float, act_layer=nn.ReLU, norm_cfg: Optional[dict] = None):
        super().__init__()
        assert stride in (1, 2), stride
        hidden = int(round(in_channels * expand_ratio))
        layers: List[nn.Module] = []
        if expand_ratio != 1:
            layers += [ConvBN(in_channels, hidden, norm_cfg=norm_cfg), act_layer()]
        layers += [
            ConvBN(hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden,
                   norm_cfg=norm_cfg),
            act_layer(),
            ConvBN(hidden, out_channels, norm_cfg=norm_cfg),   # linear bottleneck: no act
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileStack(nn.Module):
    """A stack of inverted residuals named ``layer1, layer2, ...`` (optionally after a stride-2
    3x3 stem, ``stem_block``). ``specs`` rows are (kernel, expand ratio, channels, stride)."""

    def __init__(self, specs: Sequence[BlockSpec], in_channels: int, stem: bool,
                 act_layer=nn.ReLU, norm_cfg: Optional[dict] = None):
        super().__init__()
        if stem:
            # The stem maps RGB to ``in_channels`` at stride 2.
            self.stem_block = nn.Sequential(
                ConvBN(3, in_channels, 3, 2, 1, norm_cfg=norm_cfg), act_layer())
        self.num_layers = len(specs)
        channels = in_channels
        for i, (kernel, expand, out, stride) in enumerate(specs):
            out = make_divisible(out, 8)
            self.add_module(f'layer{i + 1}', InvertedResidual(
                channels, out, kernel, stride, expand, act_layer=act_layer, norm_cfg=norm_cfg))
            channels = out
        self.out_channels = channels

    def forward(self, x: Tensor) -> Tensor:
        if hasattr(self, 'stem_block'):
            x = self.stem_block(x)
        for i in range(self.num_layers):
            x = getattr(self, f'layer{i + 1}')(x)
        return x


class AxialPositionEmbedding(nn.Module):
    """Learned position embedding of a squeezed axis, stored at length ``length`` (16) and
    resized linearly (align_corners False) to the actual axis length.

    B x C x L -> B x C x L. Rows and columns have their own embeddings, so a non-square map
    resizes each to its own length.
    """

    def __init__(self, channels: int, length: int = 16):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, channels, length))

    def forward(self, x: Tensor) -> Tensor:
        pos = F.interpolate(self.pos_embed, size=x.shape[-1], mode='linear', align_corners=False)
        return x + pos


def _act_conv_bn(act_layer, in_channels: int, out_channels: int,
                 norm_cfg: Optional[dict]) -> nn.Sequential:
    """``act -> 1x1 ConvBN`` with the BN scale starting at 0 (children ``0`` and ``1``)."""
    return nn.Sequential(act_layer(), ConvBN(in_channels, out_channels, bn_weight_init=0,
                                             norm_cfg=norm_cfg))


class SeaAttention(nn.Module):
    """Squeeze-enhanced axial attention.

    Two branches on x (B x C x H x W), multiplied at the end:

    * detail enhancement: the q, k, v projections concatenated, 3x3 depthwise ConvBN, act,
      1x1 ConvBN back to C channels;
    * squeeze axial attention: q, k, v are averaged over the columns (giving one token per row,
      H tokens) and, separately, over the rows (W tokens); q and k get axial position
      embeddings; multi-head attention runs along each axis; each result is projected and
      broadcast back over the squeezed axis, the two are added to v, projected to C and turned
      into a gate by a hard sigmoid.

    Heads: ``num_heads`` of ``key_dim`` query/key channels and ``attn_ratio * key_dim`` value
    channels.
    """

    def __init__(self, dim: int, key_dim: int, num_heads: int, attn_ratio: float = 2,
                 act_layer=nn.ReLU6, norm_cfg: Optional[dict] = None):
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.scale = key_dim ** -0.5
        qk_channels = key_dim * num_heads
        self.value_channels = v_channels = int(attn_ratio * key_dim) * num_heads

        self.to_q = ConvBN(dim, qk_channels, norm_cfg=norm_cfg)
        self.to_k = ConvBN(dim, qk_channels, norm_cfg=norm_cfg)
        self.to_v = ConvBN(dim, v_channels, norm_cfg=norm_cfg)
        self.proj = _act_conv_bn(act_layer, v_channels, dim, norm_cfg)
        self.proj_encode_row = _act_conv_bn(act_layer, v_channels, v_channels, norm_cfg)
        self.pos_emb_rowq = AxialPositionEmbedding(qk_channels)
        self.pos_emb_rowk = AxialPositionEmbedding(qk_channels)
        self.proj_encode_column = _act_conv_bn(act_layer, v_channels, v_channels, norm_cfg)
        self.pos_emb_columnq = AxialPositionEmbedding(qk_channels)
        self.pos_emb_columnk = AxialPositionEmbedding(qk_channels)

        qkv_channels = 2 * qk_channels + v_channels
        self.dwconv = ConvBN(qkv_channels, qkv_channels, 3, 1, 1, groups=qkv_channels,
                             norm_cfg=norm_cfg)
        self.act = act_layer()
        self.pwconv = ConvBN(qkv_channels, dim, norm_cfg=norm_cfg)
        self.gate = nn.Hardsigmoid()    # relu6(x + 3) / 6

    def _axial(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Multi-head attention along one squeezed axis.

        q, k: B x (heads * key_dim) x L; v: B x (heads * d) x L -> B x (heads * d) x L.
        """
        b, _, length = q.shape
        q = q.reshape(b, self.num_heads, -1, length).transpose(2, 3)     # B h L key_dim
        k = k.reshape(b, self.num_heads, -1, length)                     # B h key_dim L
        v = v.reshape(b, self.num_heads, -1, length).transpose(2, 3)     # B h L d
        attn = (torch.matmul(q, k) * self.scale).softmax(dim=-1)         # B h L L
        out = torch.matmul(attn, v)                                      # B h L d
        return out.transpose(2, 3).reshape(b, self.value_channels, length)

    def forward(self, x: Tensor) -> Tensor:
        """B x C x H x W -> B x C x H x W."""
        b, _, h, w = x.shape
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)

        detail = self.pwconv(self.act(self.dwconv(torch.cat([q, k, v], dim=1))))

        # Rows: average over the width, one token per row (H tokens).
        rows = self._axial(self.pos_emb_rowq(q.mean(-1)), self.pos_emb_rowk(k.mean(-1)),
                           v.mean(-1))
        rows = self.proj_encode_row(rows.reshape(b, self.value_channels, h, 1))
        # Columns: average over the height (W tokens).
        cols = self._axial(self.pos_emb_columnq(q.mean(-2)), self.pos_emb_columnk(k.mean(-2)),
                           v.mean(-2))
        cols = self.proj_encode_column(cols.reshape(b, self.value_channels, 1, w))

        # (H x 1) + (1 x W) broadcasts to H x W; added to v as in the reference order.
        context = v + (rows + cols)
        return self.gate(self.proj(context)) * detail


class ConvMlp(nn.Module):
    """1x1 ConvBN -> 3x3 depthwise conv (with bias) -> act -> 1x1 ConvBN (dropout 0: omitted).

    B x C x H x W -> B x C x H x W.
    """

    def __init__(self, channels: int, hidden: int, act_layer=nn.ReLU6,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        self.fc1 = ConvBN(channels, hidden, norm_cfg=norm_cfg)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act = act_layer()
        self.fc2 = ConvBN(hidden, channels, norm_cfg=norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x))))


class SeaBlock(nn.Module):
    """``x + attn(x)`` then ``x + mlp(x)``, each branch with stochastic depth."""

    def __init__(self, dim: int, key_dim: int, num_heads: int, mlp_ratio: float,
                 attn_ratio: float, drop_path: float, act_layer=nn.ReLU6,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        self.attn = SeaAttention(dim, key_dim, num_heads, attn_ratio, act_layer, norm_cfg)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), act_layer, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(x))
        return x + self.drop_path(self.mlp(x))


class SeaStage(nn.Module):
    """``depth`` SeaFormer blocks in ``transformer_blocks``; stochastic depth rises linearly
    from 0 to ``drop_path_rate`` within the stage."""

    def __init__(self, depth: int, dim: int, key_dim: int, num_heads: int, mlp_ratio: float,
                 attn_ratio: float, drop_path_rate: float, act_layer=nn.ReLU6,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.transformer_blocks = nn.ModuleList(
            SeaBlock(dim, key_dim, num_heads, mlp_ratio, attn_ratio, rate, act_layer, norm_cfg)
            for rate in rates)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.transformer_blocks:
            x = block(x)
        return x


_ACTIVATIONS = {'ReLU': nn.ReLU, 'ReLU6': nn.ReLU6, 'GELU': nn.GELU, 'Hardswish': nn.Hardswish}


@MODELS.register_module()
class SeaFormer(BaseModule):
    """SeaFormer backbone (config keys of the reference ``SeaFormer``).

    Args:
        cfgs: one list per mobile stack of rows (kernel, expand ratio, channels, stride).
        channels: input channels of each mobile stack (``channels[0]`` is the stem's output),
            then the last stack's output.
        emb_dims: channels of each transformer stage (= output of the stack it follows).
        key_dims: query/key channels per head, per transformer stage.
        depths: blocks per transformer stage; stage ``i`` follows stack (both 0-based)
            ``len(cfgs) - len(depths) + i``.
        num_heads: attention heads (all stages).
        attn_ratios: value channels per head / key_dim.
        mlp_ratios: MLP hidden / embedding channels, per transformer stage.
        drop_path_rate: the stochastic-depth rate of the last block of every stage.
        norm_cfg: norm layer of every ConvBN (``SyncBN`` in the released configs).
        act_layer: activation name of the transformer blocks (mobile stacks use ReLU).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` loads ImageNet weights from a
            local file (``state_dict_ema``, ``state_dict`` or ``model`` entry, or a bare state
            dict; non-matching keys such as the classifier are skipped); ``None`` keeps the
            random initialisation.

    Input B x 3 x H x W; output: list of feature maps (see the module docstring).
    """

    def __init__(self, cfgs: Sequence[Sequence[BlockSpec]], channels: Sequence[int],
                 emb_dims: Sequence[int], key_dims: Sequence[int],
                 depths: Sequence[int] = (2, 2), num_heads: int = 8, attn_ratios: float = 2,
                 mlp_ratios: Sequence[float] = (2, 4), drop_path_rate: float = 0.0,
                 norm_cfg: Optional[dict] = None, act_layer: str = 'ReLU6',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        if len(depths) > len(cfgs):
            raise ValueError(f'SeaFormer: {len(depths)} transformer stages for {len(cfgs)} '
                             'mobile stacks; each stage follows one of the last stacks')
        for name, values in (('emb_dims', emb_dims), ('key_dims', key_dims),
                             ('mlp_ratios', mlp_ratios)):
            if len(values) < len(depths):
                raise ValueError(f'SeaFormer: {name} needs one entry per stage ({len(depths)})')
        self.num_stacks = len(cfgs)
        self.num_stages = len(depths)
        # The mobile stacks use ReLU; the transformer blocks use ``act_layer`` (ReLU6).
        for i, specs in enumerate(cfgs):
            self.add_module(f'smb{i + 1}', MobileStack(
                specs, channels[i], stem=i == 0, act_layer=nn.ReLU, norm_cfg=norm_cfg))
        act = _ACTIVATIONS[act_layer] if isinstance(act_layer, str) else act_layer
        for i, depth in enumerate(depths):
            self.add_module(f'trans{i + 1}', SeaStage(
                depth, emb_dims[i], key_dims[i], num_heads, mlp_ratios[i], attn_ratios,
                drop_path_rate, act_layer=act, norm_cfg=norm_cfg))

    def init_weights(self) -> None:
        """Random initialisation as the reference (conv weights ~ N(0, 2 / fan_out), biases 0,
        Linear ~ N(0, 0.01)), then the pretrained file if ``init_cfg`` names one.

        Norm layers keep their constructor values (scale 1, or 0 on the attention
        projections): the reference re-initialises only ``nn.BatchNorm2d`` instances, which
        its SyncBN training configs do not contain.
        """
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        cfg = self.init_cfg or {}
        if cfg.get('type') == 'Pretrained' and cfg.get('checkpoint'):
            self._load_pretrained(cfg['checkpoint'])

    def _load_pretrained(self, path: str) -> None:
        """Load ImageNet weights (SeaFormer classification checkpoints), non-strictly."""
        checkpoint = read_checkpoint(path)
        for entry in ('state_dict_ema', 'state_dict', 'model'):
            if isinstance(checkpoint.get(entry), dict):
                checkpoint = checkpoint[entry]
                break
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in checkpoint.items()}
        own = self.state_dict()
        usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.load_state_dict(usable, strict=False)
        print_log(f'SeaFormer: loaded {len(usable)}/{len(own)} entries from {path} '
                  f'({len(state) - len(usable)} checkpoint entries skipped)', logger='current')

    def forward(self, x: Tensor) -> List[Tensor]:
        """B x 3 x H x W -> [smb2 output (1/8), trans1 output, ..., transN output]."""
        outs = []
        first_trans_stack = self.num_stacks - self.num_stages   # 0-based stack index
        for i in range(self.num_stacks):
            x = getattr(self, f'smb{i + 1}')(x)
            if i == 1:
                outs.append(x)      # the shared 1/8 detail feature
            if i >= first_trans_stack:
                x = getattr(self, f'trans{i - first_trans_stack + 1}')(x)
                outs.append(x)
        return outs
