"""One mechanism that gives any mmsegmentation decode head its SSA-Seg form.

``ssa_head(UPerHead)`` returns a subclass whose last step, ``cls_seg``, is the
:class:`~ssa_seg.classifier.SSAClassifier` instead of the 1x1 conv. The head body is
untouched. The classifier's sub-modules are registered directly on the head, so the
parameter names are exactly those of released SSA-Seg checkpoints
(``decode_head.conv_seg.weight``, ``decode_head.center_pos.weight``, ...): no conversion.

Training (``loss``) runs the student and the ground-truth teacher and returns all eight
loss terms; ``predict`` and ``forward`` (the segmentor's ``tensor`` mode) run the inference
path only, so the teacher costs nothing at test time.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

from torch import Tensor, nn

from ..classifier import DEFAULT_TEMPERATURE, BandedCrossEntropy, SSAClassifier, ssa_losses
from ..upsampled_losses import IGNORE_INDEX
from .features import head_features


def banded_main_loss(head) -> Optional[BandedCrossEntropy]:
    """The head's main loss as a :class:`BandedCrossEntropy` if it is mmseg's plain softmax
    cross-entropy (one ``CrossEntropyLoss``, no class weights, mask or sigmoid, mean
    reduction, no pixel sampler, ignore index 255); None otherwise (any other loss goes
    through the head's own ``loss_by_feat``)."""
    from mmseg.models.losses import CrossEntropyLoss

    losses = list(head.loss_decode) if isinstance(head.loss_decode, nn.ModuleList) \
        else [head.loss_decode]
    if len(losses) != 1 or head.sampler is not None or head.ignore_index != IGNORE_INDEX:
        return None
    loss = losses[0]
    if (type(loss) is not CrossEntropyLoss or loss.use_sigmoid or loss.use_mask
            or loss.class_weight is not None or loss.reduction != 'mean'):
        return None
    return BandedCrossEntropy(loss.loss_name, float(loss.loss_weight), bool(loss.avg_non_ignore))


def ssa_head(base: Type, name: str | None = None) -> Type:
    """Return the SSA-Seg form of the decode-head class ``base``.

    ``base`` must be an mmseg ``BaseDecodeHead`` subclass whose forward ends in
    ``self.cls_seg(feat)``. Extra config keys: ``temperature`` (default 15) and
    ``distillation`` (default True; False trains without the teacher, the paper's
    "SEPA + SPPA without distillation" ablation, see :class:`SSAClassifier`).
    """

    class SSAHead(base):
        def __init__(self, *args, temperature: float = DEFAULT_TEMPERATURE,
                     distillation: bool = True, **kwargs):
            super().__init__(*args, **kwargs)
            if self.out_channels != self.num_classes:
                raise ValueError(f'{type(self).__name__} needs out_channels == num_classes '
                                 f'(got {self.out_channels} vs {self.num_classes}); the SSA '
                                 'classifier has one prototype per class.')
            classifier = SSAClassifier(self.channels, self.num_classes,
                                       dropout_ratio=self.dropout_ratio, temperature=temperature,
                                       distillation=distillation)
            # Adopt the classifier's modules as the head's own (replacing conv_seg and
            # dropout) so state-dict keys match the reference; keep the classifier itself
            # out of the module tree so nothing is registered twice.
            for child_name, child in classifier.named_children():
                setattr(self, child_name, child)
            self.__dict__['ssa_classifier'] = classifier
            # Decided once, from the config: a plain CE main loss joins the banded pass.
            self.banded_main_loss = banded_main_loss(self)

        def cls_seg(self, feat: Tensor) -> Tensor:
            return self.ssa_classifier(feat)

        def forward_features(self, inputs, *args) -> Tensor:
            """The head's feature F (B x C x h x w), everything before ``cls_seg``;
            stateless, safe to call from several threads."""
            return head_features(self, inputs, *args)

        def loss(self, inputs, *args) -> Dict[str, Tensor]:
            # Plain heads: (batch_data_samples, train_cfg); cascade heads put prev_output first.
            *head_args, batch_data_samples, _train_cfg = args
            feat = head_features(self, inputs, *head_args)
            label = self._stack_batch_gt(batch_data_samples)[:, 0].long()
            student, teacher = self.ssa_classifier.forward_train(feat, label)
            # The main term is the head's own loss_decode: a plain CE joins the student's
            # banded pass (no upsampled copy of its logits, the largest cost of mmseg's
            # loss_by_feat on a CPU); anything else goes through loss_by_feat, which
            # upsamples the student's logits itself.
            main_loss = self.banded_main_loss or (
                lambda logits: self.loss_by_feat(logits, batch_data_samples))
            return ssa_losses(student, teacher, label, self.ssa_classifier.temperature,
                              align_corners=self.align_corners, main_loss=main_loss,
                              main_loss_resizes=True)

    SSAHead.__name__ = SSAHead.__qualname__ = name or f'{base.__name__}_ssa'
    SSAHead.__doc__ = f'{base.__name__} with the SSA-Seg classifier (see ssa_seg.models.ssa_head).'
    return SSAHead
