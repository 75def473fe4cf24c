"""MSCAN (SegNeXt) with the parameter layout of the reference SSA-Seg checkpoints.

mmsegmentation 1.x has ``MSCAN`` and ``LightHamHead``. Checked against the reference
fixtures (``segnext_tiny_512x512_160k_4x4_ade20k`` and ``_ssa``), they compute the same
numbers as the reference's own copies; the one difference is a name. The reference keeps
the original SegNeXt code, where each block's MLP holds its depthwise 3x3 conv inside a
small wrapper module, so the keys read ``block1.0.mlp.dwconv.dwconv.weight``; mmseg 1.x
flattened the wrapper away: ``block1.0.mlp.dwconv.weight``. Everything else (stem,
patch embeddings, attention, layer scales, norms, the head) has equal keys.

Decision: a registered variant, ``MSCANRef``, rather than a key mapping in the loader or a
change to mmseg's ``MSCAN``. It is mmseg's ``MSCAN`` with each ``mlp.dwconv`` put back
inside a one-child holder named ``dwconv``. So:

* its state-dict keys are the reference's, and reference checkpoints load strictly with no
  conversion (``ssa_seg.checkpoint.load_weights`` stays a plain strict loader, and
  checkpoints this project saves are reference checkpoints);
* the forward is mmseg's, untouched (the holder only calls its conv);
* mmseg's ``MSCAN`` registry entry is left as it is; configs choose the layout by name.

For weights in mmseg 1.x's layout (e.g. an ImageNet-pretrained MSCAN passed through
``init_cfg=dict(type='Pretrained', ...)``, which mmengine loads non-strictly and would
otherwise leave the depthwise convs silently uninitialised), the holder also accepts
``...mlp.dwconv.weight`` / ``.bias`` and files them under its child. That is the only
renaming, and it applies only inside this backbone.
"""
from __future__ import annotations

from mmseg.models.backbones.mscan import MSCAN, Mlp
from mmseg.registry import MODELS
from torch import Tensor, nn


class DepthwiseConvHolder(nn.Module):
    """Holds an MLP's depthwise 3x3 conv as ``self.dwconv`` (B x C x H x W -> same)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.dwconv = conv
        self.register_load_state_dict_pre_hook(self._accept_flat_layout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dwconv(x)

    @staticmethod
    def _accept_flat_layout(module, state_dict, prefix, *args) -> None:
        # mmseg 1.x layout: '<prefix>weight' -> ours: '<prefix>dwconv.weight'.
        for name in ('weight', 'bias'):
            flat, nested = prefix + name, prefix + 'dwconv.' + name
            if flat in state_dict and nested not in state_dict:
                state_dict[nested] = state_dict.pop(flat)


@MODELS.register_module()
class MSCANRef(MSCAN):
    """mmseg's ``MSCAN`` with reference SSA-Seg / original SegNeXt state-dict keys.

    Same arguments and outputs as ``MSCAN``: a list of four B x C_i x H/2^(i+2) x
    W/2^(i+2) maps (C_i = ``embed_dims[i]``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for module in list(self.modules()):
            if isinstance(module, Mlp) and isinstance(module.dwconv, nn.Conv2d):
                module.dwconv = DepthwiseConvHolder(module.dwconv)
