"""ViT-Adapter backbone (Chen et al., "Vision Transformer Adapter for Dense Predictions",
ICLR 2023) as SSA-Seg's ``configs/vit-adapter/*`` use it: a plain ViT (ViT-L/16 AugReg in the
released models) with a spatial prior module and four injector/extractor interactions, giving
a four-level pyramid for UperNet.

Written from github czczup/ViT-Adapter (``segmentation/mmseg_custom/models/backbones``:
``vit_adapter.py``, ``adapter_modules.py``, ``base/vit.py``); registered as ``ViTAdapter``
with the original's arguments and state-dict keys (``blocks.*``, ``spm.*``,
``interactions.*``, ``level_embed``, ``up``, ``norm1 .. norm4``), so ViT-Adapter and SSA-Seg
checkpoints load strictly.

Data flow for an input B x 3 x H x W (H, W multiples of 32; ``h, w = H / 16, W / 16``):

* ViT tokens: 16 x 16 patches + the position embedding (trained at ``pretrain_size``, resized
  bicubically to h x w): B x hw x C.
* Spatial prior (:class:`SpatialPriorModule`): c1 at 1/4, tokens of c2, c3, c4 (1/8, 1/16,
  1/32) plus a learned per-level embedding, concatenated.
* Interaction ``i`` runs the injector, the ViT blocks ``interaction_indexes[i]``, the
  extractor; its ViT output (B x C x h x w) is kept.
* Outputs: c1 + up(c2) and c2, c3, c4, each plus the matching kept ViT map resized to its
  level (x4, x2, x1, x0.5), each through a BatchNorm: C x H/4, H/8, H/16, H/32.
"""
from __future__ import annotations

from functools import partial
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from ...checkpoint import read_checkpoint, state_dict_of
from .ms_deform_attn import MSDeformAttn
from .vit_adapter_modules import (
    InteractionBlock,
    SpatialPriorModule,
    deform_inputs,
    run_checkpointed,
    split_levels,
)

PATCH = 16     # the adapter's pyramid assumes 16 x 16 patches (ViT tokens at 1/16)


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` patches projected by a conv (child ``proj``).
    B x 3 x H x W -> (B x hw x C, h, w)."""

    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor):
        x = self.proj(x)
        _, _, h, w = x.shape
        return x.flatten(2).transpose(1, 2), h, w


class Attention(nn.Module):
    """Global multi-head self-attention (``qkv``, ``proj``). B x N x C -> B x N x C."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)          # each B x heads x N x d
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """fc1 -> GELU -> dropout -> fc2 -> dropout (timm's ``Mlp`` keys)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Module):
    """Pre-norm transformer block with optional layer scale (``gamma1``, ``gamma2``).
    ``forward(x B x N x C, h, w)``; ``h, w`` are unused by global attention."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool,
                 drop: float, attn_drop: float, drop_path: float, norm_layer,
                 layer_scale: bool, with_cp: bool):
        super().__init__()
        self.with_cp = with_cp
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.layer_scale = layer_scale
        if layer_scale:
            self.gamma1 = nn.Parameter(torch.ones(dim))
            self.gamma2 = nn.Parameter(torch.ones(dim))

    def _inner(self, x: Tensor) -> Tensor:
        attn = self.attn(self.norm1(x))
        x = x + self.drop_path(self.gamma1 * attn if self.layer_scale else attn)
        mlp = self.mlp(self.norm2(x))
        return x + self.drop_path(self.gamma2 * mlp if self.layer_scale else mlp)

    def forward(self, x: Tensor, h: int, w: int) -> Tensor:
        return run_checkpointed(self._inner, self.with_cp, x)


def _check_global_attention(window_attn, depth: int) -> None:
    flags = window_attn if isinstance(window_attn, (list, tuple)) else [window_attn] * depth
    if any(flags):
        raise ValueError('ViTAdapter: windowed attention (window_attn=True) is not ported; the '
                         'SSA-Seg ViT-Adapter configs use global attention in every block')


@MODELS.register_module()
class ViTAdapter(BaseModule):
    """ViT + adapter backbone; outputs four C-channel maps at 1/4, 1/8, 1/16, 1/32.

    Args (the original's names; the SSA-Seg ViT-Adapter-L configs set img_size=384,
    pretrain_size=384, embed_dim=1024, depth=24, num_heads=16, deform_num_heads=16,
    deform_ratio=0.5, drop_path_rate=0.4, interaction_indexes=[[0, 5], [6, 11], [12, 17],
    [18, 23]], with_cp=True):
        img_size: the pretraining resolution; sets the position-embedding length.
        pretrain_size: the grid the position embedding is resized from (pretrain_size / 16).
        patch_size: must be 16.
        embed_dim, depth, num_heads, mlp_ratio, qkv_bias, layer_scale: the ViT.
        drop_rate, attn_drop_rate: dropout; drop_path_rate: stochastic depth (linear over the
            ViT blocks; constant in the extractors' FFNs, as the original).
        conv_inplane: width of the spatial prior module.
        n_points, deform_num_heads, deform_ratio: the deformable attentions.
        init_values: initial injector gamma (0: the adapter starts as the identity).
        interaction_indexes: [first, last] ViT block of each interaction.
        with_cffn, cffn_ratio, add_vit_feature, use_extra_extractor: adapter options.
        with_cp: activation checkpointing of ViT blocks, injectors and extractors (training).
        pretrained: a local ViT checkpoint (timm names) loaded non-strictly by
            ``init_weights``; ``None`` keeps the random initialisation.
        norm_cfg: the prior module's and output norms (the original hard-codes
            SyncBatchNorm; BN has the same keys, mmengine's ``sync_bn`` converts it back).
        window_attn, window_size: accepted for the configs; windowed attention is not ported.
    """

    def __init__(self, img_size: int = 224, pretrain_size: int = 224, patch_size: int = PATCH,
                 in_chans: int = 3, embed_dim: int = 768, depth: int = 12,
                 num_heads: int = 12, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0, layer_scale: bool = True,
                 conv_inplane: int = 64, n_points: int = 4, deform_num_heads: int = 6,
                 init_values: float = 0.0,
                 interaction_indexes: Optional[Sequence[Sequence[int]]] = None,
                 with_cffn: bool = True, cffn_ratio: float = 0.25, deform_ratio: float = 1.0,
                 add_vit_feature: bool = True, use_extra_extractor: bool = True,
                 with_cp: bool = False, pretrained: Optional[str] = None,
                 norm_cfg: Optional[dict] = None,
                 window_attn: Union[bool, Sequence[bool]] = False, window_size=14,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if patch_size != PATCH:
            raise ValueError(f'ViTAdapter: patch_size must be {PATCH} (the adapter places the '
                             f'ViT tokens at 1/16), got {patch_size}')
        if not interaction_indexes:
            raise ValueError('ViTAdapter: interaction_indexes (the [first, last] ViT block of '
                             'each interaction) is required')
        _check_global_attention(window_attn, depth)
        norm_cfg = norm_cfg or dict(type='BN')
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.pretrained = pretrained
        self.pretrain_grid = pretrain_size // PATCH
        self.interaction_indexes = [list(ix) for ix in interaction_indexes]
        self.add_vit_feature = add_vit_feature
        self.embed_dim = embed_dim

        # Registration order = the original's state-dict order.
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, embed_dim))
        self.pos_drop = nn.Dropout(p=drop_rate)
        rates = [r.item() for r in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate,
                  rates[i], norm_layer, layer_scale, with_cp) for i in range(depth)])
        self.level_embed = nn.Parameter(torch.zeros(3, embed_dim))
        self.spm = SpatialPriorModule(conv_inplane, embed_dim, norm_cfg)
        last = len(self.interaction_indexes) - 1
        self.interactions = nn.Sequential(*[
            InteractionBlock(embed_dim, deform_num_heads, n_points, norm_layer,
                             drop_path=drop_path_rate, with_cffn=with_cffn,
                             cffn_ratio=cffn_ratio, init_values=init_values,
                             deform_ratio=deform_ratio,
                             extra_extractor=use_extra_extractor and i == last, with_cp=with_cp)
            for i in range(len(self.interaction_indexes))])
        self.up = nn.ConvTranspose2d(embed_dim, embed_dim, 2, 2)
        for i in range(1, 5):
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, embed_dim)[1])
        self._random_init()

    @torch.no_grad()
    def _random_init(self) -> None:
        """The original's initialisation of the adapter parts (the ViT blocks keep PyTorch's
        defaults there): Linear ~ trunc N(0, 0.02), convs ~ N(0, 2 / fan_out), norms 1 / 0,
        deformable attentions their own scheme, ``level_embed`` ~ N(0, 1)."""
        for module in (self.up, self.spm, self.interactions):
            for m in module.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                    nn.init.normal_(m.weight, 0, (2.0 / fan_out) ** 0.5)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, MSDeformAttn):
                m.reset_parameters()
        nn.init.normal_(self.level_embed)

    def init_weights(self) -> None:
        """Load ``pretrained`` (a ViT checkpoint: ``state_dict``/``model`` entry or a bare
        state dict) non-strictly, as the original: entries the backbone lacks (class token,
        final norm, classifier) are skipped and named in the log; a shape mismatch is an error."""
        if not self.pretrained:
            return
        state, _ = state_dict_of(read_checkpoint(self.pretrained))
        own = self.state_dict()
        wrong = [f'{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in state.items()
                 if k in own and v.shape != own[k].shape]
        if wrong:
            raise ValueError(f'ViTAdapter: {self.pretrained} does not fit (checkpoint vs '
                             f'model): {"; ".join(wrong)}')
        self.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
        skipped = sorted(set(state) - set(own))
        print_log(f'ViTAdapter: loaded {len(set(state) & set(own))}/{len(own)} entries from '
                  f'{self.pretrained}; skipped {skipped}', logger='current')

    def _pos_embed(self, h: int, w: int) -> Tensor:
        """The patch position embeddings (class token's dropped), resized to h x w: 1 x hw x C."""
        grid = self.pos_embed[:, 1:].reshape(1, self.pretrain_grid, self.pretrain_grid, -1)
        grid = F.interpolate(grid.permute(0, 3, 1, 2), size=(h, w), mode='bicubic',
                             align_corners=False)
        return grid.reshape(1, -1, h * w).permute(0, 2, 1)

    def forward(self, x: Tensor) -> List[Tensor]:
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ValueError(f'ViTAdapter: input height and width must be multiples of 32, got '
                             f'{tuple(x.shape[-2:])} (the test pipeline\'s ResizeToMultiple '
                             'and the slide-mode crops give such sizes)')
        inject, extract = deform_inputs(x)
        c1, c2, c3, c4 = self.spm(x)
        c = torch.cat([c2 + self.level_embed[0], c3 + self.level_embed[1],
                       c4 + self.level_embed[2]], dim=1)
        x, h, w = self.patch_embed(x)
        x = self.pos_drop(x + self._pos_embed(h, w))
        vit_maps = []
        for (first, last), layer in zip(self.interaction_indexes, self.interactions):
            x, c = layer(x, c, self.blocks[first:last + 1], inject, extract, h, w)
            vit_maps.append(x.transpose(1, 2).reshape(x.shape[0], self.embed_dim, h, w)
                            .contiguous())
        c2, c3, c4 = split_levels(c, h, w)
        c1 = self.up(c2) + c1
        outs = [c1, c2, c3, c4]
        if self.add_vit_feature:
            for i, scale in enumerate((4, 2, 1, 0.5)):
                vit = vit_maps[i] if scale == 1 else F.interpolate(
                    vit_maps[i], scale_factor=scale, mode='bilinear', align_corners=False)
                outs[i] = outs[i] + vit
        return [getattr(self, f'norm{i + 1}')(out) for i, out in enumerate(outs)]
