"""Cross-entropy and dice of bilinearly upsampled logits, without the upsampled tensor.

The SSA-Seg recipe scores three logit maps at the label's resolution (the coarse mask, the
student and the teacher; docs/method.md §3). Upsampled, each is B x K x H x W (at K = 150,
batch 2 and 256 x 256: 79 MB); done with ``F.interpolate``, ``F.cross_entropy`` and a
sigmoid dice, every such tensor is written, normalised, zero-filled for a gradient and read
back several times, which made SSA-Seg's training step 2.3x its baseline's on a CPU.

Here the upsampling is split the way PyTorch's bilinear kernel computes it, horizontal
first, then vertical. The horizontal pass (a matmul to B x h x K x W, small) is an ordinary
autograd op; :class:`_VerticalTerms` does the vertical pass a band of output rows at a time,
reduces each band to the loss statistics while it is in cache, and in the backward pass
recomputes the band and scatters its gradient back onto the h x W rows. No label-size tensor
is ever materialised, and the values are those of the direct computation (the same
interpolation weights; sums in a different order: relative differences ~1e-7).
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

IGNORE_INDEX = 255           # unlabelled pixels, everywhere in the project
BAND_BYTES = 1 << 20      # one band of R x K x W floats: about 1 MB, so it stays in cache


def vertical_weights(n_in: int, n_out: int, align_corners: bool
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Source rows and weights of a bilinear resize n_in -> n_out, as PyTorch computes them.

    Returns (i0, i1, w0, w1): output row r = w0[r] * row i0[r] + w1[r] * row i1[r].
    """
    dst = torch.arange(n_out, dtype=torch.float32)
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = dst * torch.tensor(scale, dtype=torch.float32)
    else:
        scale = torch.tensor(n_in / n_out, dtype=torch.float32)
        src = ((dst + 0.5) * scale - 0.5).clamp_min(0)
    i0 = src.long().clamp_max(n_in - 1)
    i1 = torch.where(i0 < n_in - 1, i0 + 1, i0)
    w1 = (src - i0).clamp(0, 1)
    return i0, i1, 1 - w1, w1


def dice_from_sums(inter: Tensor, prob_sum: Tensor, count: Tensor
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    """The dice loss from its per-(image, class) sums, and its derivatives by I and P.

    inter (I), prob_sum (P), count: B x K; I = sum of each class's sigmoid over its own valid
    pixels, P = over all valid pixels, count = its valid pixels. Per (image, class present)
    ``1 - (2 I + 1) / (P + count + 1)``, averaged over the present ones.
    """
    present = (count > 0).to(inter.dtype)
    scale = present / present.sum().clamp_min(1)
    den = prob_sum + count + 1
    loss = ((1 - (2 * inter + 1) / den) * scale).sum()
    d_inter = -2 / den * scale
    d_prob = (2 * inter + 1) / den.square() * scale
    return loss, d_inter, d_prob


class _VerticalTerms(torch.autograd.Function):
    """(CE sum, dice) of the vertical bilinear resize of ``rows`` to the label's height.

    rows: B x h x K x W (row-major, already resized horizontally to the label's width);
    label: B x H x W
    long, 255 = ignore. CE sum: sum over valid pixels of ``-log softmax_K``; dice: as
    :func:`ssa_seg.classifier.dice_loss`. Either can be switched off (then 0, no cost).
    """

    @staticmethod
    def forward(ctx, rows: Tensor, label: Tensor, align_corners: bool, with_ce: bool,
                with_dice: bool):
        b, h, k, w = rows.shape
        matrix = resize_matrix(h, label.shape[1], align_corners).to(rows)
        valid = label != IGNORE_INDEX
        target = torch.where(valid, label, torch.zeros_like(label))
        ce_sum = rows.new_zeros(())
        inter, prob_sum = rows.new_zeros(b, k), rows.new_zeros(b, k)
        lse = rows.new_empty(label.shape) if with_ce else None   # log-sum-exp per pixel
        for n, span, band, tgt, ok in _bands(rows, matrix, target, valid):
            if with_ce:   # what F.cross_entropy computes: log_softmax, then the target's entry
                log_prob = torch.log_softmax(band, dim=1)
                ce_sum -= log_prob.gather(1, tgt[:, None]).flatten() @ ok.flatten()
                lse[n, span] = band[:, 0] - log_prob[:, 0]   # kept for the backward softmax
            if with_dice:
                prob = band.sigmoid_()
                masked = prob if bool(ok.all()) else prob * ok[:, None]
                prob_sum[n] += masked.sum(dim=(0, 2))
                inter[n].index_add_(0, tgt.flatten(), (prob.gather(1, tgt[:, None])[:, 0] * ok)
                                    .flatten())
        dice = rows.new_zeros(())
        ctx.coeffs = None
        if with_dice:
            count = _class_counts(target, valid, k).to(rows.dtype)
            dice, d_inter, d_prob = dice_from_sums(inter, prob_sum, count)
            ctx.coeffs = (d_inter, d_prob)
        ctx.save_for_backward(rows, target, valid, matrix, lse)
        return ce_sum, dice

    @staticmethod
    def backward(ctx, grad_ce: Tensor, grad_dice: Tensor):
        rows, target, valid, matrix, lse = ctx.saved_tensors
        grad_rows = torch.zeros_like(rows)
        minus_one = rows.new_full((band_rows(*rows.shape[-2:]), 1, rows.shape[-1]), -1.0)
        for n, span, band, tgt, ok in _bands(rows, matrix, target, valid):
            grad = None
            if lse is not None:   # softmax - onehot(target)
                grad = (band - lse[n, span][:, None]).exp_()
                grad.scatter_add_(1, tgt[:, None], minus_one[:tgt.shape[0]])
                grad.mul_(grad_ce)
            if ctx.coeffs is not None:   # sigmoid' * (dP + dI at the target class)
                d_inter, d_prob = ctx.coeffs
                prob = band.sigmoid_()
                slope = prob.mul(prob).neg_().add_(prob)                  # s (1 - s)
                own = slope.gather(1, tgt[:, None]) * (d_inter[n] * grad_dice)[tgt][:, None]
                slope.mul_((d_prob[n] * grad_dice)[:, None]).scatter_add_(1, tgt[:, None], own)
                grad = slope if grad is None else grad.add_(slope)
            grad.mul_(ok[:, None])   # ignored pixels take no part
            first, last, local = _window(matrix, span)
            grad_rows[n, first:last].view(last - first, -1).addmm_(
                local.t(), grad.view(grad.shape[0], -1))
        return grad_rows, None, None, None, None


def band_rows(num_classes: int, width: int) -> int:
    """Output rows per band: R x K x W floats in about BAND_BYTES."""
    return max(1, BAND_BYTES // (4 * num_classes * width))


def _window(matrix: Tensor, span: slice):
    """The input rows [first, last) that output rows ``span`` read, and their R x (last -
    first) block of the resize matrix (bilinear: two rows each, monotone)."""
    nonzero = matrix[span].abs().sum(dim=0).nonzero()
    first, last = int(nonzero[0]), int(nonzero[-1]) + 1
    return first, last, matrix[span, first:last]


def _bands(rows: Tensor, matrix: Tensor, target: Tensor, valid: Tensor):
    """Yield (image index, output-row slice, R x K x W band of the resized logits, its
    target, its valid mask as float) over every image and band of R output rows.

    A band is one small matmul: the band's block of the resize matrix times the few input
    rows it reads (no gathered copies).
    """
    b, _, k, w = rows.shape
    height = matrix.shape[0]
    step = band_rows(k, w)
    for top in range(0, height, step):
        span = slice(top, min(top + step, height))
        first, last, local = _window(matrix, span)
        for n in range(b):
            band = torch.mm(local, rows[n, first:last].reshape(last - first, -1))
            yield (n, span, band.view(-1, k, w), target[n, span],
                   valid[n, span].to(rows.dtype))


def _class_counts(target: Tensor, valid: Tensor, num_classes: int) -> Tensor:
    """B x K: valid pixels of each class in each image."""
    b = target.shape[0]
    offsets = torch.arange(b, device=target.device)[:, None] * num_classes
    flat = (target.flatten(1) + offsets)[valid.flatten(1)]
    return torch.bincount(flat, minlength=b * num_classes).reshape(b, num_classes)


def resize_matrix(n_in: int, n_out: int, align_corners: bool) -> Tensor:
    """n_out x n_in matrix of a bilinear resize along one axis (two entries per row)."""
    i0, i1, w0, w1 = vertical_weights(n_in, n_out, align_corners)
    matrix = torch.zeros(n_out, n_in)
    rows = torch.arange(n_out)
    matrix.index_put_((rows, i0), w0, accumulate=True)
    matrix.index_put_((rows, i1), w1, accumulate=True)
    return matrix


def upsampled_terms(logits: Tensor, label: Tensor, align_corners: bool = False,
                    with_ce: bool = True, with_dice: bool = True) -> Tuple[Tensor, Tensor]:
    """(CE sum over valid pixels, dice loss) of ``logits`` bilinearly resized to ``label``.

    logits: B x K x h x w; label: B x H x W long (255 = ignore). Equal to
    ``F.cross_entropy(up, label, ignore_index=255, reduction='sum')`` and
    ``dice_loss(up, label)`` with ``up = F.interpolate(logits, (H, W), mode='bilinear')``,
    to float rounding, gradients included.
    """
    width = label.shape[-1]
    # The horizontal pass as a matmul (its backward is one more matmul, much faster than
    # interpolate's), straight into the row-major B x h x K x W layout the bands are cut from.
    rows = logits.permute(0, 2, 1, 3)
    if logits.shape[-1] == width:
        rows = rows.contiguous()
    else:
        weights = resize_matrix(logits.shape[-1], width, align_corners)
        rows = rows @ weights.to(logits).t()
    return _VerticalTerms.apply(rows, label, align_corners, with_ce, with_dice)
