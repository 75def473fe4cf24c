"""Cross-entropy and dice of bilinearly upsampled logits, without the upsampled tensor.

The SSA-Seg recipe scores three logit maps at the label's resolution (the coarse mask, the
student and the teacher; docs/method.md §3). Upsampled, each is B x K x H x W (at K = 150,
batch 2 and 256 x 256: 79 MB); done with ``F.interpolate``, ``F.cross_entropy`` and a
sigmoid dice, every such tensor is written, normalised, zero-filled for a gradient and read
back several times, which made SSA-Seg's training step 2.3x its baseline's on a CPU.

Here the upsampling is split the way PyTorch's bilinear kernel computes it, horizontal
first, then vertical. :class:`_UpsampledTerms` makes the horizontal pass (B x h x K x W,
4x the logits at most, not the label-size tensor), then the vertical one a band of output
rows at a time, reduces each band to the loss statistics while it is in cache, and in the
backward pass recomputes the band and scatters its gradient back onto the h x W rows, then
through the horizontal pass with one matmul. No label-size tensor
is ever materialised, and the values are those of the direct computation (the same
interpolation weights; sums in a different order: relative differences ~1e-7).

What a band costs on a CPU (SegFormer-B0 shape, 1 thread) shaped the loop: each band is
written into one reused buffer (a fresh 1-2 MB tensor per band costs page faults, about as
much as the band's matmul), the backward softmax uses ``exp2`` (``exp`` takes twice as long
here), and the element-wise passes of the backward are merged (``addcmul``, ``add`` with
``alpha``); the valid-pixel mask is applied only to bands that hold ignored pixels.
"""
from __future__ import annotations

from typing import NamedTuple, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE_INDEX = 255           # unlabelled pixels, everywhere in the project
BAND_BYTES = 2 << 20      # one band of R x K x W floats: about 2 MB, so it stays in L2
LOG2E = 1.4426950408889634   # exp(x) = exp2(x log2 e): exp2 is about twice as fast on CPU


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


class _UpsampledTerms(torch.autograd.Function):
    """(CE sum, dice, correct) of ``logits`` (B x K x h x w) bilinearly resized to ``label``.

    The horizontal pass makes rows: B x h x K x W (row-major, resized to the label's width);
    the bands do the vertical one. label: B x H x W long, 255 = ignore. CE sum: sum over
    valid pixels of ``-log softmax_K``; dice: as :func:`ssa_seg.classifier.dice_loss`;
    correct: valid pixels whose target class has the largest logit (no gradient). Each can
    be switched off (then 0, no cost).
    """

    @staticmethod
    def forward(ctx, logits: Tensor, label: Tensor, align_corners: bool, with_ce: bool,
                with_dice: bool, with_accuracy: bool):
        rows, horizontal = _horizontal(logits, label.shape[-1], align_corners)
        ctx.logits_shape = logits.shape
        b, h, k, w = rows.shape
        bands = _Bands(rows, label, align_corners)
        ce_sum, correct = rows.new_zeros(()), rows.new_zeros(())
        inter, prob_sum = rows.new_zeros(b, k), rows.new_zeros(b, k)
        # -log2(e) x log-sum-exp per pixel, kept for the backward softmax
        neg_lse2 = rows.new_empty(label.shape) if with_ce else None
        scratch = bands.buffer(rows)
        for n, span, band, tgt, ok in bands.of(rows):
            if with_accuracy:   # before the dice's in-place sigmoid
                hit = band.gather(1, tgt[:, None])[:, 0] >= band.amax(dim=1)
                correct += (hit if ok is None else hit & (ok > 0)).sum()
            if with_ce:   # what F.cross_entropy computes: log_softmax, then the target's entry
                log_prob = torch.log_softmax(band, dim=1, out=scratch[:band.shape[0]])
                own = log_prob.gather(1, tgt[:, None]).flatten()
                ce_sum -= own.sum() if ok is None else own @ ok.flatten()
                torch.sub(log_prob[:, 0], band[:, 0], out=neg_lse2[n, span]).mul_(LOG2E)
            if with_dice:
                prob = band.sigmoid_()
                if ok is None:
                    prob_sum[n] += prob.sum(dim=(0, 2))
                    own = prob.gather(1, tgt[:, None])
                else:
                    prob_sum[n] += (prob * ok[:, None]).sum(dim=(0, 2))
                    own = prob.gather(1, tgt[:, None])[:, 0] * ok
                inter[n].index_add_(0, tgt.flatten(), own.flatten())
        dice = rows.new_zeros(())
        ctx.coeffs = None
        if with_dice:
            count = _class_counts(bands.target, bands.valid, k).to(rows.dtype)
            dice, d_inter, d_prob = dice_from_sums(inter, prob_sum, count)
            ctx.coeffs = (d_inter, d_prob)
        ctx.bands = bands
        ctx.save_for_backward(rows, neg_lse2, horizontal)
        ctx.mark_non_differentiable(correct)
        return ce_sum, dice, correct

    @staticmethod
    def backward(ctx, grad_ce: Tensor, grad_dice: Tensor, _grad_correct: Tensor):
        rows, neg_lse2, horizontal = ctx.saved_tensors
        bands = ctx.bands
        if neg_lse2 is None and ctx.coeffs is None:   # accuracy only: no gradient
            return rows.new_zeros(ctx.logits_shape), None, None, None, None, None
        grad_rows = torch.zeros_like(rows)
        minus_one = rows.new_full((bands.step, 1, rows.shape[-1]), -1.0)
        g_ce = float(grad_ce)
        scratch, scratch2 = bands.buffer(rows), bands.buffer(rows)
        if ctx.coeffs is not None:
            d_inter, d_prob = (x * grad_dice for x in ctx.coeffs)
        for n, span, band, tgt, ok in bands.of(rows):
            grad = None
            if neg_lse2 is not None:   # softmax - onehot(target), still to be scaled by g_ce
                grad = torch.add(neg_lse2[n, span][:, None], band, alpha=LOG2E,
                                 out=scratch[:band.shape[0]]).exp2_()
                grad.scatter_add_(1, tgt[:, None], minus_one[:tgt.shape[0]])
            if ctx.coeffs is not None:   # sigmoid' * (dP + dI at the target class)
                prob = band.sigmoid_()
                slope = torch.mul(prob, d_prob[n][:, None], out=scratch2[:band.shape[0]])  # s dP
                slope.addcmul_(prob, slope, value=-1)                 # s (1 - s) dP
                own = prob.gather(1, tgt[:, None])
                own = (own - own * own) * d_inter[n][tgt][:, None]     # s (1 - s) dI, own class
                slope.scatter_add_(1, tgt[:, None], own)
                grad = slope if grad is None else slope.add_(grad, alpha=g_ce)
            elif g_ce != 1:
                grad.mul_(g_ce)
            if ok is not None:
                grad.mul_(ok[:, None])   # ignored pixels take no part
            first, last, local = bands.window(span)
            grad_rows[n, first:last].view(last - first, -1).addmm_(
                local.t(), grad.view(grad.shape[0], -1))
        return _horizontal_backward(grad_rows, horizontal), None, None, None, None, None


def band_rows(num_classes: int, width: int) -> int:
    """Output rows per band: R x K x W floats in about BAND_BYTES."""
    return max(1, BAND_BYTES // (4 * num_classes * width))


class _Bands:
    """The bands of the vertical resize of ``rows`` (B x h x K x W) to ``label``'s height.

    :meth:`of` yields (image index, output-row slice, R x K x W band of the resized logits,
    its target, its valid mask as float or None when every pixel of the band is valid) over
    every image and band of R output rows. A band is one small matmul: the band's block of
    the resize matrix times the few input rows it reads (no gathered copies).
    """

    def __init__(self, rows: Tensor, label: Tensor, align_corners: bool):
        """rows: only its shape and dtype are kept (the tensor itself is saved by autograd)."""
        b, h, k, w = rows.shape
        height = label.shape[1]
        self.valid = label != IGNORE_INDEX
        self.target = torch.where(self.valid, label, torch.zeros_like(label))
        self.matrix = resize_matrix(h, height, align_corners).to(rows)
        self.step = band_rows(k, w)
        i0, i1 = (x.tolist() for x in vertical_weights(h, height, align_corners)[:2])
        self.spans = [slice(top, min(top + self.step, height))
                      for top in range(0, height, self.step)]
        # Input rows [first, last) each span reads (bilinear: two rows per output row, monotone).
        self.windows = [(i0[s.start], max(i1[s.stop - 1], i0[s.stop - 1]) + 1)
                        for s in self.spans]
        full = self.valid.flatten(2).all(dim=2).tolist()                  # B x height
        self.full = [[all(full[n][s]) for s in self.spans] for n in range(b)]

    def window(self, span: slice):
        first, last = self.windows[span.start // self.step]
        return first, last, self.matrix[span, first:last]

    def buffer(self, rows: Tensor) -> Tensor:
        """One band-sized scratch tensor: reused across bands, because a fresh 1-2 MB
        allocation per band costs page faults (measured: half the time of a band's matmul)."""
        return rows.new_empty(self.step, *rows.shape[2:])

    def of(self, rows: Tensor):
        k, w = rows.shape[2:]
        out = self.buffer(rows)
        for index, span in enumerate(self.spans):
            first, last, local = self.window(span)
            for n in range(rows.shape[0]):
                band = out[:span.stop - span.start]
                torch.mm(local, rows[n, first:last].reshape(last - first, -1),
                         out=band.view(band.shape[0], -1))
                ok = None if self.full[n][index] else self.valid[n, span].to(rows.dtype)
                yield n, span, band, self.target[n, span], ok


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


def _horizontal(logits: Tensor, width: int, align_corners: bool) -> Tuple[Tensor, Tensor]:
    """(rows, matrix): logits B x K x h x w resized to ``width`` along x, as B x h x K x W
    (row-major: what the bands are cut from), and the W x w resize matrix its backward uses
    (empty when no resize is needed). The forward is the 1-D linear interpolation (two taps
    per output, about a third of the time of the dense matmul); the backward is one matmul."""
    b, k, h, w = logits.shape
    rows = logits.permute(0, 2, 1, 3).contiguous()
    if w == width:
        return rows, logits.new_empty(0)
    resized = F.interpolate(rows.view(b * h, k, w), size=width, mode='linear',
                            align_corners=align_corners)
    return resized.view(b, h, k, width), resize_matrix(w, width, align_corners).to(logits)


def _horizontal_backward(grad_rows: Tensor, matrix: Tensor) -> Tensor:
    """Gradient of :func:`_horizontal`'s input from that of its rows (B x h x K x W)."""
    if not matrix.numel():
        return grad_rows.permute(0, 2, 1, 3)
    b, h, k, width = grad_rows.shape
    return (grad_rows.view(-1, width) @ matrix).view(b, h, k, -1).permute(0, 2, 1, 3)


class UpsampledTerms(NamedTuple):
    """What :func:`upsampled_terms` returns (each 0 when not asked for)."""
    ce_sum: Tensor     # sum over valid pixels of the cross-entropy
    dice: Tensor       # the dice loss
    correct: Tensor    # valid pixels whose target has the largest logit (float, no gradient)


def upsampled_terms(logits: Tensor, label: Tensor, align_corners: bool = False,
                    with_ce: bool = True, with_dice: bool = True,
                    with_accuracy: bool = False) -> UpsampledTerms:
    """CE sum, dice loss and correct pixels of ``logits`` bilinearly resized to ``label``.

    logits: B x K x h x w; label: B x H x W long (255 = ignore). Equal to
    ``F.cross_entropy(up, label, ignore_index=255, reduction='sum')``,
    ``dice_loss(up, label)`` and ``((up.argmax(1) == label) & valid).sum()`` with
    ``up = F.interpolate(logits, (H, W), mode='bilinear')``, to float rounding, gradients
    included. A pixel whose target ties for the largest logit counts as correct.
    """
    return UpsampledTerms(*_UpsampledTerms.apply(logits, label, align_corners, with_ce,
                                                 with_dice, with_accuracy))
