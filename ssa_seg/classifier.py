"""The SSA-Seg pixel classifier in pure PyTorch (imports torch only).

It replaces the fixed-prototype 1x1 classifier at the end of a segmentation head
(``logits = conv_seg(dropout(F))``) with one whose class prototypes adapt to each image:

* inference path (docs/method.md §2): coarse mask -> spatial prototypes (SPPA) and
  semantic prototypes (SEPA) -> cosine classification against ``center_proj(Sp + Pp)``;
* training path (§3): an online teacher that builds the same prototypes from the
  ground truth, and the eight loss terms of the reference recipe (:func:`ssa_losses`).

Shapes: B batch, C channels, K classes, H x W feature resolution, N = H * W.
Parameter names are those of released SSA-Seg checkpoints (§4). Paper: Ma et al.,
SSA-Seg, NeurIPS 2024 (arXiv 2405.06525).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .upsampled_losses import IGNORE_INDEX, dice_from_sums, upsampled_terms

EPS = 1e-12
DEFAULT_TEMPERATURE = 15.0   # scale of the cosine logits in the reference

# Weights of the reference recipe; keys are the names the losses are logged under.
LOSS_WEIGHTS: Dict[str, float] = {
    'loss_ce': 1.0,          # reference: MainLoss
    'loss_pre_self': 1.0,    # PreSelfLoss: CE of the coarse mask
    'loss_pre': 1.0,         # PreLoss: CE of the teacher logits
    'loss_dice_pred': 1.0,   # dice_pred
    'loss_dice_gt': 1.0,     # dice_gt
    'loss_kl': 1.0,          # KLLoss: response-domain distillation
    'loss_dis': 10.0,        # disLoss: semantic-domain distillation
    'loss_pos_dis': 0.4,     # pos_disLoss: spatial-domain distillation
}


def _mlp(channels: int) -> nn.Sequential:
    """``Linear(2C, C/2, no bias) -> ReLU -> Linear(C/2, C)``: fuses two K x C prototype sets."""
    return nn.Sequential(
        nn.Linear(2 * channels, channels // 2, bias=False),
        nn.ReLU(inplace=True),
        nn.Linear(channels // 2, channels),
    )


@dataclass
class SSAOutputs:
    """What the inference path computes for a batch.

    coarse: B x K x H x W coarse mask M (the vanilla classifier's logits).
    pos_feat: B x C x H x W spatial features Pf (None if not kept, see ``adapt``).
    sem_protos: B x K x C adapted semantic prototypes Sp.
    pos_protos: B x K x C spatial prototypes Pp.
    centers: B x K x C final class centers ``center_proj(Sp + Pp)``.
    logits: B x K x H x W, ``temperature * cos(F + Pf, centers)``.
    pixel_feat, pixel_norm: F + Pf (B x C x H x W) and its per-pixel norms (B x 1 x HW), kept
    when training (None at inference): the teacher classifies the same pixels with them.
    """
    coarse: Tensor
    pos_feat: Optional[Tensor]
    sem_protos: Tensor
    pos_protos: Tensor
    centers: Tensor
    logits: Tensor
    pixel_feat: Optional[Tensor] = None
    pixel_norm: Optional[Tensor] = None


@dataclass
class TeacherOutputs:
    """The ground-truth teacher (training only).

    sem_protos: K x C semantic prototypes S_hat (shared by the batch).
    pos_protos: B x K x C spatial prototypes P_hat.
    centers: B x K x C ``gt_center_proj(S_hat + P_hat)``.
    logits: B x K x H x W.
    """
    sem_protos: Tensor
    pos_protos: Tensor
    centers: Tensor
    logits: Tensor


def pixel_norms(feat: Tensor, in_place: bool = False) -> Tensor:
    """B x 1 x HW: the L2 norm of every pixel of a B x C x H x W feature, clamped at EPS.

    The squares are summed by a matmul with a ones row, faster on CPU than a strided
    reduction. ``in_place=True`` squares ``feat`` itself (see :func:`cosine_logits`).
    """
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    squares = flat.square_() if in_place else flat.square()
    return torch.bmm(flat.new_ones(b, 1, c), squares).sqrt().clamp_min(EPS)


def cosine_logits(feat: Tensor, centers: Tensor, temperature: float,
                  consume_feat: bool = False, pixel_norm: Optional[Tensor] = None) -> Tensor:
    """``temperature * cos`` between every pixel and every center.

    feat: B x C x H x W, centers: B x K x C -> B x K x H x W.
    Only the K centers are normalised; the pixel norms divide the K x HW product afterwards,
    so no normalised copy of the (much larger) feature map is made; ``pixel_norm`` (from
    :func:`pixel_norms` of ``feat``) may be passed when several center sets classify the
    same pixels. ``consume_feat=True`` lets the function square ``feat`` in place once it
    is no longer needed (a temporary the caller made; inference only): a fresh 16 MB buffer
    costs page faults that show at this size.
    """
    b, c, h, w = feat.shape
    centers = F.normalize(centers, dim=-1, eps=EPS)
    flat = feat.reshape(b, c, h * w)
    products = torch.bmm(centers, flat)                                   # B x K x HW
    if pixel_norm is None:
        pixel_norm = pixel_norms(flat, in_place=consume_feat)
    if consume_feat:
        return products.mul_(temperature / pixel_norm).reshape(b, -1, h, w)
    return (products * (temperature / pixel_norm)).reshape(b, -1, h, w)


def relation_matrix(protos: Tensor, temperature: float = DEFAULT_TEMPERATURE,
                    detach_right: bool = True) -> Tensor:
    """Inter-class relation ``R = row-softmax(temperature * cos(X_i, X_j))``.

    protos: ... x K x C -> ... x K x K. As in the reference, the right-hand operand is
    detached, so gradients flow through the row prototype only.
    """
    x = F.normalize(protos, dim=-1, eps=EPS)
    right = x.detach() if detach_right else x
    return torch.softmax(temperature * x @ right.transpose(-1, -2), dim=-1)


def resize_label(label: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of a B x h x w label map to B x H x W (long)."""
    if tuple(label.shape[-2:]) == tuple(size):
        return label.long()
    return F.interpolate(label[:, None].float(), size=size, mode='nearest')[:, 0].long()


def spatial_centers(coarse: Tensor, pos_feat: Tensor) -> Tensor:
    """SPPA step: where each class sits. ``softmax_HW(M) @ Pf^T``.

    coarse: B x K x H x W, pos_feat: B x C x H x W -> B x K x C.
    """
    b, k = coarse.shape[:2]
    attn = torch.softmax(coarse.reshape(b, k, -1), dim=2)
    return attn @ pos_feat.reshape(b, pos_feat.shape[1], -1).transpose(1, 2)


def semantic_centers(coarse: Tensor, feat: Tensor) -> Tensor:
    """SEPA step: soft per-class mean of the image's features.

    ``(A @ F^T) / (sum_HW A + 1e-12)`` with ``A = softmax_K(M)``.
    coarse: B x K x H x W, feat: B x C x H x W -> B x K x C.
    """
    b, k = coarse.shape[:2]
    attn = torch.softmax(coarse.reshape(b, k, -1), dim=1)
    sums = attn @ feat.reshape(b, feat.shape[1], -1).transpose(1, 2)
    return sums / (attn.sum(dim=2, keepdim=True) + EPS)


class SSAClassifier(nn.Module):
    """Semantic and spatial adaptive pixel classifier.

    Args:
        in_channels: C, channels of the head feature F.
        num_classes: K.
        dropout_ratio: dropout before the coarse 1x1 classifier, as in mmseg heads.
        temperature: scale of the cosine logits (15 in the reference).
        distillation: train with the ground-truth teacher and its terms (the recipe). False
            gives the paper's ablation "SEPA + SPPA without distillation": training runs the
            student only and keeps the terms that need no teacher (loss_ce, loss_pre_self,
            loss_dice_pred). The teacher modules still exist, untrained, so the state-dict
            keys stay those of released checkpoints; inference is the same either way.
    """

    def __init__(self, in_channels: int, num_classes: int, dropout_ratio: float = 0.1,
                 temperature: float = DEFAULT_TEMPERATURE, distillation: bool = True):
        super().__init__()
        c, k = in_channels, num_classes
        self.in_channels, self.num_classes, self.temperature = c, k, temperature
        self.distillation = distillation
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.conv_seg = nn.Conv2d(c, k, kernel_size=1)              # S and the coarse mask
        self.get_feat_pos = nn.Conv2d(c, c, 3, padding=1, groups=c)  # Pf = DWConv3x3(F)
        self.center_pos = nn.Embedding(k, c)                         # position basis P
        self.center_content_proj = _mlp(c)                           # MLP_sem
        self.center_pos_proj = _mlp(c)                               # MLP_pos
        self.center_proj = nn.Linear(c, c, bias=False)
        # Teacher twins: trained, but unused at inference.
        self.gt_center_content_proj = _mlp(c)
        self.gt_center_pos_proj = _mlp(c)
        self.gt_center_proj = nn.Linear(c, c, bias=False)
        nn.init.normal_(self.conv_seg.weight, 0, 0.01)
        nn.init.zeros_(self.conv_seg.bias)

    @property
    def fixed_prototypes(self) -> Tensor:
        """S: K x C, the vanilla classifier's weight rows."""
        return self.conv_seg.weight[:, :, 0, 0]

    @property
    def position_basis(self) -> Tensor:
        """P: K x C, the learned prototype position basis."""
        return self.center_pos.weight

    def spatial_features(self, feat: Tensor) -> Tensor:
        """Pf = DWConv3x3(F), B x C x H x W."""
        return self.get_feat_pos(feat)

    @staticmethod
    def _fuse(mlp: nn.Sequential, first: Tensor, second: Tensor) -> Tensor:
        """``mlp(concat[first, second])`` for B x K x C and (B x) K x C operands.

        The first linear layer is applied to each half separately, so a batch-independent
        K x C operand is projected once instead of being expanded B times.
        """
        c = first.shape[-1]
        w = mlp[0].weight
        hidden = first @ w[:, :c].t() + second @ w[:, c:].t()
        return mlp[2](mlp[1](hidden))

    def adapt(self, feat: Tensor, keep_pos_feat: bool = True) -> SSAOutputs:
        """Inference path (docs/method.md §2). feat: B x C x H x W pre-dropout head feature.

        ``keep_pos_feat=False`` (what :meth:`forward` uses) lets inference reuse the Pf
        buffer for F + Pf instead of allocating another feature-sized tensor; ``pos_feat``
        is then None in the result.
        """
        b = feat.shape[0]
        coarse = self.conv_seg(self.dropout(feat))                  # B x K x H x W
        pos_feat = self.spatial_features(feat)                       # B x C x H x W
        pos_protos = self._fuse(self.center_pos_proj, self.position_basis.expand(b, -1, -1),
                                spatial_centers(coarse, pos_feat))
        sem_protos = self._fuse(self.center_content_proj, semantic_centers(coarse, feat),
                                self.fixed_prototypes)
        centers = self.center_proj(sem_protos + pos_protos)
        inference = not (torch.is_grad_enabled() and (feat.requires_grad or centers.requires_grad))
        if inference:
            if keep_pos_feat:
                pixel_feat = feat + pos_feat
            else:   # the Pf buffer becomes F + Pf
                pixel_feat, pos_feat = pos_feat.add_(feat), None
            logits = cosine_logits(pixel_feat, centers, self.temperature, consume_feat=True)
            return SSAOutputs(coarse, pos_feat, sem_protos, pos_protos, centers, logits)
        pixel_feat = feat + pos_feat
        norm = pixel_norms(pixel_feat)
        logits = cosine_logits(pixel_feat, centers, self.temperature, pixel_norm=norm)
        return SSAOutputs(coarse, pos_feat, sem_protos, pos_protos, centers, logits,
                          pixel_feat, norm)

    def forward(self, feat: Tensor) -> Tensor:
        """B x C x H x W feature -> B x K x H x W logits (docs/method.md §2)."""
        return self.adapt(feat, keep_pos_feat=False).logits

    def teacher(self, feat: Tensor, pos_feat: Tensor, label: Tensor,
                student: Optional[SSAOutputs] = None) -> TeacherOutputs:
        """Ground-truth teacher (docs/method.md §3).

        feat, pos_feat: B x C x H x W; label: B x H x W long at feature resolution, 255 = ignore.
        ``student``: the student's outputs for the same batch, whose F + Pf and pixel norms
        are reused (the teacher classifies the same pixels).
        """
        b = feat.shape[0]
        fixed, basis = self.fixed_prototypes, self.position_basis
        gt_sem, gt_pos = ground_truth_centers(feat, pos_feat, label, fixed, basis)
        sem_protos = self._fuse(self.gt_center_content_proj, gt_sem, fixed)
        # The teacher concatenates centre first, basis second (the student: basis first).
        # Released checkpoints' gt_center_pos_proj weights are laid out for this order.
        pos_protos = self._fuse(self.gt_center_pos_proj, gt_pos, basis.expand(b, -1, -1))
        centers = self.gt_center_proj(sem_protos + pos_protos)
        if student is not None and student.pixel_feat is not None:
            logits = cosine_logits(student.pixel_feat, centers, self.temperature,
                                   pixel_norm=student.pixel_norm)
        else:
            logits = cosine_logits(feat + pos_feat, centers, self.temperature)
        return TeacherOutputs(sem_protos, pos_protos, centers, logits)

    def forward_train(self, feat: Tensor, label: Tensor
                      ) -> Tuple[SSAOutputs, Optional[TeacherOutputs]]:
        """Student and teacher for a batch; label: B x h x w at any resolution.
        The teacher is None when the classifier trains without distillation."""
        student = self.adapt(feat)
        if not self.distillation:
            return student, None
        teacher = self.teacher(feat, student.pos_feat, resize_label(label, feat.shape[-2:]),
                               student)
        return student, teacher


def ground_truth_centers(feat: Tensor, pos_feat: Tensor, label: Tensor, fixed: Tensor,
                         basis: Tensor) -> Tuple[Tensor, Tensor]:
    """The teacher's class centers from the label (docs/method.md §3).

    feat, pos_feat: B x C x H x W; label: B x H x W (255 = ignore); fixed (S), basis (P): K x C.
    Returns (semantic K x C: class means of F over the whole batch, S[k] for absent classes;
    spatial B x K x C: per-image class means of Pf, P[k] where class k is absent from the image).
    """
    b, c = feat.shape[:2]
    k = fixed.shape[0]
    # Class sums by index_add over the labelled pixels: O(N C), where a one-hot matmul
    # would be O(K N C) (150x the work at ADE20K's K).
    valid = (label != IGNORE_INDEX).flatten(1)                             # B x N
    classes = label.flatten(1)[valid]
    if classes.numel() and int(classes.max()) >= k:
        raise ValueError(f'label holds class {int(classes.max())}, but there are {k} classes '
                         f'(0..{k - 1}, {IGNORE_INDEX} = ignore)')
    slot = (label.flatten(1) + torch.arange(b, device=label.device)[:, None] * k)[valid]
    counts = torch.bincount(slot, minlength=b * k).reshape(b, k, 1).to(feat.dtype)

    def class_sums(x: Tensor) -> Tensor:                                   # B x K x C
        pixels = x.reshape(b, c, -1).transpose(1, 2)[valid]                # labelled, M x C
        return x.new_zeros(b * k, c).index_add(0, slot, pixels).reshape(b, k, c)

    total = counts.sum(dim=0)
    gt_sem = torch.where(total > 0, class_sums(feat).sum(dim=0) / total.clamp_min(1),
                         fixed.detach())
    gt_pos = torch.where(counts > 0, class_sums(pos_feat) / counts.clamp_min(1),
                         basis.detach().expand(b, -1, -1))
    return gt_sem, gt_pos


def class_masks(label: Tensor, num_classes: int) -> Tensor:
    """B x H x W label (255 = ignore) -> B x K x H x W float one-hot (ignore -> all zero)."""
    valid = label != IGNORE_INDEX
    safe = torch.where(valid, label, torch.zeros_like(label))
    onehot = F.one_hot(safe, num_classes).permute(0, 3, 1, 2).to(torch.float32)
    return onehot * valid[:, None]


# --------------------------------------------------------------------------- losses

def _upsample(logits: Tensor, size, align_corners: bool = False) -> Tensor:
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode='bilinear', align_corners=align_corners)


def dice_loss(logits: Tensor, label: Tensor) -> Tensor:
    """Dice of sigmoid(logit channel) vs each present class's binary mask.

    logits: B x K x H x W at the label's resolution; label: B x H x W. Per image and per
    class present in that image, ``1 - (2 |p t| + 1) / (|p| + |t| + 1)``, summed and divided
    by the number of (image, class) masks. Ignore pixels take no part.
    No one-hot masks are built (at K=150 and 512 x 512 they would take gigabytes): the
    intersection only needs each pixel's probability of its own class, scattered by class.
    """
    b, k = logits.shape[:2]
    valid = (label != IGNORE_INDEX).flatten(1)                        # B x N
    target = torch.where(valid, label.flatten(1), torch.zeros_like(valid, dtype=label.dtype))
    prob = torch.sigmoid(logits.flatten(2))                           # B x K x N
    prob_sum = torch.bmm(prob, valid.to(prob.dtype)[..., None])[..., 0]          # B x K
    own = prob.gather(1, target[:, None])[:, 0] * valid               # B x N
    inter = torch.zeros_like(prob_sum).scatter_add(1, target, own)
    count = torch.zeros_like(prob_sum).scatter_add(1, target, valid.to(prob.dtype))
    return dice_from_sums(inter, prob_sum, count)[0]


def boundary_mask(label: Tensor) -> Tensor:
    """Pixels on or next to an edge of the label map (edges dilated 3x3). B x H x W bool."""
    lab = label[:, None].float()
    hi = F.max_pool2d(lab, 3, stride=1, padding=1)
    lo = -F.max_pool2d(-lab, 3, stride=1, padding=1)
    edges = (hi != lo).float()
    return F.max_pool2d(edges, 3, stride=1, padding=1)[:, 0] > 0


def response_distillation_loss(student_logits: Tensor, teacher_logits: Tensor,
                               label: Tensor) -> Tensor:
    """KLLoss: entropy-weighted soft CE, balanced per class and boundary/interior.

    All at feature resolution: logits B x K x H x W, label B x H x W. The target is
    ``0.5 softmax(teacher) + 0.5 onehot(y)``; each pixel is weighted by the entropy of
    softmax(teacher). The weighted loss is averaged per class over its boundary pixels and
    over its interior pixels, the two averages are averaged, then the classes present are.
    """
    k = student_logits.shape[1]
    with torch.no_grad():
        t_prob = torch.softmax(teacher_logits, dim=1)
        entropy = -(t_prob * torch.log(t_prob.clamp_min(EPS))).sum(dim=1)      # B x H x W
        target = 0.5 * t_prob + 0.5 * class_masks(label, k)
    per_pixel = -(target * F.log_softmax(student_logits, dim=1)).sum(dim=1) * entropy
    valid = label != IGNORE_INDEX
    # Bucket b = 2 * class + is_boundary: two averages per class without a Python loop.
    bucket = (label.clamp_max(k - 1) * 2 + boundary_mask(label).long())[valid]
    values = per_pixel[valid]
    sums = torch.zeros(2 * k, device=values.device, dtype=values.dtype)
    sums.index_add_(0, bucket, values)
    counts = torch.bincount(bucket, minlength=2 * k).to(values.dtype).reshape(k, 2)
    means = (sums.reshape(k, 2) / counts.clamp_min(1))
    halves = (counts > 0).to(values.dtype)
    per_class = (means * halves).sum(1) / halves.sum(1).clamp_min(1)
    present = halves.sum(1) > 0
    if not present.any():
        return student_logits.sum() * 0
    return per_class[present].mean()


def semantic_distillation_loss(sem_protos: Tensor, teacher_sem_protos: Tensor,
                               temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """disLoss: sum over j != i of relu(R(Sp) - R(S_hat)), mean over batch and rows i.

    sem_protos: B x K x C (student Sp); teacher_sem_protos: K x C (S_hat, detached here).
    """
    r_student = relation_matrix(sem_protos, temperature)
    r_teacher = relation_matrix(teacher_sem_protos.detach(), temperature)
    diff = torch.relu(r_student - r_teacher)
    off_diag = 1 - torch.eye(diff.shape[-1], device=diff.device, dtype=diff.dtype)
    return (diff * off_diag).sum(-1).mean()


def spatial_distillation_loss(pos_protos: Tensor, teacher_pos_protos: Tensor) -> Tensor:
    """pos_disLoss: soft CE over channels, ``-sum_c softmax(P_hat)_c log_softmax(Pp)_c``.

    Both B x K x C; mean over batch and classes; teacher detached.
    """
    target = torch.softmax(teacher_pos_protos.detach(), dim=-1)
    return -(target * F.log_softmax(pos_protos, dim=-1)).sum(-1).mean()


FLOAT32_EPS = float(torch.finfo(torch.float32).eps)   # mmseg's guard in its mean and accuracy


@dataclass(frozen=True)
class BandedCrossEntropy:
    """A head's main loss when it is mmseg's plain softmax cross-entropy, computed in the
    student's banded pass (the one the dice term runs anyway) with mmseg's ``acc_seg``.

    For heads whose ``loss_decode`` is one ``CrossEntropyLoss`` without class weights, mask
    or sigmoid, mean reduction, and no pixel sampler (see
    :func:`ssa_seg.models.ssa_head.banded_main_loss`). Values are those of mmseg's
    ``loss_by_feat``, without its upsampled copy of the logits:
    ``loss_weight * CE sum / (pixels + eps)``, pixels counting every label pixel
    (``avg_non_ignore=False``, mmseg's default) or only the labelled ones; and
    ``acc_seg = (correct + eps) * 100 / (labelled + eps)``, shape (1,). A pixel whose target
    ties for the largest logit counts as correct (mmseg's ``topk`` picks one of the tied).
    """
    loss_name: str = 'loss_ce'
    loss_weight: float = 1.0
    avg_non_ignore: bool = False

    def entries(self, ce_sum: Tensor, correct: Tensor, label: Tensor,
                scale: float = 1.0) -> Dict[str, Tensor]:
        """The loss entry (times ``scale``, the recipe's ``loss_ce`` weight) and ``acc_seg``
        from the banded pass's CE sum and correct-pixel count; label: B x H x W."""
        labelled = int((label != IGNORE_INDEX).sum())
        pixels = labelled if self.avg_non_ignore else label.numel()
        loss = self.loss_weight * (ce_sum / (pixels + FLOAT32_EPS)) * scale
        accuracy = (correct.reshape(1) + FLOAT32_EPS) * (100.0 / (labelled + FLOAT32_EPS))
        return {self.loss_name: loss, 'acc_seg': accuracy}


# The terms computed without a teacher (training with ``distillation=False``).
STUDENT_TERMS = ('loss_ce', 'loss_pre_self', 'loss_dice_pred')


def ssa_losses(student: SSAOutputs, teacher: Optional[TeacherOutputs], label: Tensor,
               temperature: float = DEFAULT_TEMPERATURE, align_corners: bool = False,
               weights: Optional[Dict[str, float]] = None,
               main_loss: Optional[Callable[[Tensor], Dict[str, Tensor]]
                                  | BandedCrossEntropy] = None,
               main_loss_resizes: bool = False) -> Dict[str, Tensor]:
    """All eight loss terms of the recipe, each weighted and under its own name.

    label: B x h x w long (255 = ignore) at image resolution. Logits are upsampled
    bilinearly to the label for the CE and dice terms; the distillation terms work at
    feature resolution. The main term is the plain CE of the student (``loss_ce``) unless
    ``main_loss`` is given: a function of the upsampled student logits returning the
    entries that replace it (an mmseg head passes its own ``loss_decode`` this way).
    ``weights['loss_ce']`` then
    scales every loss entry ``main_loss`` returns (not metrics such as ``acc_seg``).
    ``main_loss`` may also be a :class:`BandedCrossEntropy`: the head's plain CE and
    accuracy, computed in the student's banded pass (no upsampled logits at all).
    ``main_loss_resizes=True``: ``main_loss`` takes the student's logits at feature
    resolution and resizes them itself (mmseg's ``loss_by_feat`` always does, so handing it
    upsampled logits would upsample twice).
    The CE and dice terms never materialise upsampled logits (:mod:`ssa_seg.upsampled_losses`).
    ``teacher=None`` (training without distillation) leaves out every term that needs the
    teacher: only :data:`STUDENT_TERMS` are returned.
    """
    unknown = set(weights or {}) - set(LOSS_WEIGHTS)
    if unknown:
        raise KeyError(f'unknown loss weights {sorted(unknown)}; known: {sorted(LOSS_WEIGHTS)}')
    weights = {**LOSS_WEIGHTS, **(weights or {})}
    label = label.long()
    num_valid = (label != IGNORE_INDEX).sum().clamp_min(1)
    own_ce = main_loss is None          # the plain CE of the student, computed here
    banded = isinstance(main_loss, BandedCrossEntropy)
    main_ce, dice_pred, correct = upsampled_terms(student.logits, label, align_corners,
                                                  with_ce=own_ce or banded, with_accuracy=banded)
    pre_self = upsampled_terms(student.coarse, label, align_corners, with_dice=False).ce_sum
    if teacher is None:
        terms = {'loss_pre_self': pre_self / num_valid, 'loss_dice_pred': dice_pred}
    else:
        pre, dice_gt, _ = upsampled_terms(teacher.logits, label, align_corners)
        small = resize_label(label, student.logits.shape[-2:])
        # In the reference's order (the runner sums them in this order).
        terms = {
            'loss_pre_self': pre_self / num_valid,
            'loss_pre': pre / num_valid,
            'loss_dice_pred': dice_pred,
            'loss_dice_gt': dice_gt,
            'loss_kl': response_distillation_loss(student.logits, teacher.logits, small),
            'loss_dis': semantic_distillation_loss(student.sem_protos, teacher.sem_protos,
                                                   temperature),
            'loss_pos_dis': spatial_distillation_loss(student.pos_protos, teacher.pos_protos),
        }
    terms = {name: value * weights[name] for name, value in terms.items()}
    if own_ce:
        return {'loss_ce': main_ce / num_valid * weights['loss_ce'], **terms}
    if banded:
        return {**main_loss.entries(main_ce, correct, label, weights['loss_ce']), **terms}
    logits = student.logits if main_loss_resizes else _upsample(student.logits, label.shape[-2:],
                                                                align_corners)
    main = {name: value * weights['loss_ce'] if 'loss' in name else value
            for name, value in main_loss(logits).items()}
    return {**main, **terms}
