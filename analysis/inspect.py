"""Why did this pixel change? Both models' answers at one pixel, and for SSA-Seg where the
adaptation moved the decision.

At segmentation time :func:`inspection_of` keeps what every later click needs (a
:class:`PixelInspection`, bounded: per model the top 5 of the softmax at every pixel, and
the SSA classifier's feature-resolution tensors); :func:`pixel` then answers a click
without running a model. All sizes are the processing size (``LoadedImage.work``): the
size the models see, where ``seg_logits`` and the masks live.

Definitions at pixel (y, x) of an H x W image, feature grid h x w:

* ``top``: softmax of the model's ``seg_logits`` as ``ssa_seg.apis.inference_model``
  returns them at the image size (so the first entry is the mask's class);
* ``coarse_top``: softmax of the coarse mask M (the fixed-prototype logits the adaptation
  starts from), bilinearly upsampled to H x W (``align_corners=False``) and read at (y, x);
* the pixel's feature F(y, x) and spatial feature Pf(y, x): F and Pf upsampled the same way
  (bilinear is linear, so (F + Pf)(y, x) = F(y, x) + Pf(y, x));
* ``cos_fixed`` = cos(F(y, x), S_k), the space where the coarse mask decides;
  ``cos_center`` = cos(F(y, x) + Pf(y, x), center_k), with center = ``center_proj(Sp + Pp)``,
  the space where SSA-Seg decides (as the ``shift`` figure's numbers, at one pixel instead
  of a class centroid).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ssa_seg.classifier import IGNORE_INDEX

TOP = 5                 # classes listed per model
ROW_CHUNK = 64          # image rows per softmax block: bounds the temporary at K x 64 x W


# --------------------------------------------------------------------------- results

@dataclass(frozen=True)
class ClassProb:
    class_index: int
    name: str
    prob: float


@dataclass(frozen=True)
class ClassCosines:
    class_index: int
    name: str
    cos_fixed: float
    cos_center: float


@dataclass(frozen=True)
class ModelPixel:
    """One model at one pixel: its top classes; for an SSA-Seg model also the coarse mask's
    top classes and the cosines of the classes in either list (SSA-Seg's first)."""
    name: str
    top: Tuple[ClassProb, ...]
    coarse_top: Optional[Tuple[ClassProb, ...]] = None
    classes: Optional[Tuple[ClassCosines, ...]] = None

    def to_json(self) -> dict:
        out = dict(name=self.name, top=_probs_json(self.top))
        if self.coarse_top is not None:
            out['coarse_top'] = _probs_json(self.coarse_top)
            out['classes'] = [dict(**{'class': c.name}, cos_fixed=c.cos_fixed,
                                   cos_center=c.cos_center) for c in self.classes]
        return out


@dataclass(frozen=True)
class PixelReport:
    """What the inspector shows for one pixel. pixel: (row, column); image_size: (H, W)."""
    pixel: Tuple[int, int]
    image_size: Tuple[int, int]
    gt: Optional[str]
    baseline: ModelPixel
    ssa: ModelPixel
    sentence: str

    def to_json(self) -> dict:
        """The ``/inspect`` endpoint's answer."""
        return dict(pixel=list(self.pixel), image_size=list(self.image_size), gt=self.gt,
                    baseline=self.baseline.to_json(), ssa=self.ssa.to_json(),
                    sentence=self.sentence)


def _probs_json(probs: Sequence[ClassProb]) -> List[dict]:
    return [{'class': p.name, 'prob': p.prob} for p in probs]


# --------------------------------------------------------------------------- kept per image

@dataclass(frozen=True)
class TopTable:
    """The top ``TOP`` classes of a softmax at every pixel.
    probs: H x W x T float32 (descending); classes: H x W x T int16."""
    probs: np.ndarray
    classes: np.ndarray

    @classmethod
    def from_logits(cls, logits: Tensor, top: int = TOP) -> 'TopTable':
        """logits: K x H x W. Softmax over K in row blocks (no K x H x W copy is made)."""
        k, height, width = logits.shape
        t = min(top, k)
        probs = np.empty((height, width, t), np.float32)
        classes = np.empty((height, width, t), np.int16)
        for row in range(0, height, ROW_CHUNK):
            block = torch.softmax(logits[:, row:row + ROW_CHUNK].float(), dim=0)
            values, index = block.topk(t, dim=0)
            probs[row:row + ROW_CHUNK] = values.permute(1, 2, 0).numpy()
            classes[row:row + ROW_CHUNK] = index.permute(1, 2, 0).numpy()
        return cls(probs, classes)

    @property
    def nbytes(self) -> int:
        return self.probs.nbytes + self.classes.nbytes

    def at(self, y: int, x: int, names: Sequence[str]) -> Tuple[ClassProb, ...]:
        return tuple(ClassProb(int(c), names[int(c)], float(p))
                     for p, c in zip(self.probs[y, x], self.classes[y, x]))


@dataclass(frozen=True)
class SSAInternals:
    """The SSA classifier's tensors on one image, at feature resolution.
    feat, pos_feat: C x h x w (F, Pf); coarse: K x h x w (M); centers, fixed: K x C."""
    feat: Tensor
    pos_feat: Tensor
    coarse: Tensor
    centers: Tensor
    fixed: Tensor

    @classmethod
    @torch.no_grad()
    def from_classifier(cls, classifier, feat: Tensor) -> 'SSAInternals':
        """classifier: an eval-mode ``SSAClassifier``; feat: 1 x C x h x w, its input."""
        out = classifier.adapt(feat, keep_pos_feat=True)
        return cls(feat[0].float().clone(), out.pos_feat[0].float(), out.coarse[0].float(),
                   out.centers[0].float(), classifier.fixed_prototypes.detach().float().clone())

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in
                   (self.feat, self.pos_feat, self.coarse, self.centers, self.fixed))


@dataclass(frozen=True)
class PixelInspection:
    """What the inspector keeps of one image (see the module docstring); ``label``: H x W
    class indices (255 ignored) or None; ``internals`` None when the SSA-Seg side of the
    pair is a vanilla model."""
    image_size: Tuple[int, int]
    class_names: Tuple[str, ...]
    model_names: Tuple[str, str]          # baseline, SSA-Seg
    baseline: TopTable
    ssa: TopTable
    internals: Optional[SSAInternals]
    label: Optional[np.ndarray] = None

    @property
    def nbytes(self) -> int:
        extra = self.label.nbytes if self.label is not None else 0
        return self.baseline.nbytes + self.ssa.nbytes + extra + (
            self.internals.nbytes if self.internals is not None else 0)


def inspection_of(segmentation, ssa_model, image, class_names: Sequence[str],
                  model_names: Sequence[str], label: Optional[np.ndarray] = None
                  ) -> PixelInspection:
    """Keep what :func:`pixel` needs from a ``stats.segment_pair(..., keep_internals=True)``
    result. ``image``: the ``LoadedImage`` segmented (for a slide-inference model the
    feature is recomputed on the whole image: one extra forward, once per image);
    ``label``: at the processing size."""
    from ssa_seg.apis import extract_head_features, ssa_classifier

    base, ssa = segmentation.baseline, segmentation.ssa
    if base.logits is None or ssa.logits is None:
        raise ValueError('segment the pair with keep_internals=True to inspect its pixels')
    internals = None
    classifier = ssa_classifier(ssa_model)
    if classifier is not None:
        feat = ssa.head_features
        if feat is None:
            feat = extract_head_features(ssa_model, image.work)[0]
        internals = SSAInternals.from_classifier(classifier, feat)
    height, width = ssa.logits.shape[-2:]
    if label is not None and label.shape != (height, width):
        raise ValueError(f'label is {label.shape}, the image {height} x {width}')
    return PixelInspection(
        image_size=(int(height), int(width)), class_names=tuple(class_names),
        model_names=tuple(model_names), baseline=TopTable.from_logits(base.logits),
        ssa=TopTable.from_logits(ssa.logits), internals=internals, label=label)


def inspect_image(baseline_model, ssa_model, image, class_names: Sequence[str],
                  model_names: Sequence[str], label: Optional[np.ndarray] = None
                  ) -> PixelInspection:
    """Segment ``image`` (a ``LoadedImage``) with both models once and keep the inspection."""
    from .stats import segment_pair
    segmentation = segment_pair(baseline_model, ssa_model, image, keep_internals=True)
    return inspection_of(segmentation, ssa_model, image, class_names, model_names, label)


# --------------------------------------------------------------------------- one pixel

def _source_index(dst: int, in_size: int, out_size: int) -> Tuple[int, int, float]:
    """The two source indices and the weight of the second for output index ``dst`` of a
    1-D linear resize ``in_size -> out_size`` with ``align_corners=False`` (as
    ``F.interpolate`` computes it)."""
    src = max((dst + 0.5) * (in_size / out_size) - 0.5, 0.0)
    low = min(int(math.floor(src)), in_size - 1)
    return low, min(low + 1, in_size - 1), src - low


def bilinear_at(tensor: Tensor, size: Tuple[int, int], y: int, x: int) -> Tensor:
    """``F.interpolate(tensor[None], size, mode='bilinear', align_corners=False)[0, :, y, x]``
    without making the full map. tensor: C x h x w -> C."""
    _, h, w = tensor.shape
    y0, y1, wy = _source_index(y, h, size[0])
    x0, x1, wx = _source_index(x, w, size[1])
    top = tensor[:, y0, x0] * (1 - wx) + tensor[:, y0, x1] * wx
    bottom = tensor[:, y1, x0] * (1 - wx) + tensor[:, y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def _top(probs: Tensor, names: Sequence[str], top: int = TOP) -> Tuple[ClassProb, ...]:
    values, index = probs.topk(min(top, probs.numel()))
    return tuple(ClassProb(int(i), names[int(i)], float(v)) for v, i in zip(values, index))


def check_pixel(y, x, size: Tuple[int, int]) -> Tuple[int, int]:
    """(y, x) as integers inside an H x W image, or ValueError saying what is wrong."""
    try:
        row, col = int(y), int(x)
    except (TypeError, ValueError):
        raise ValueError(f'pixel must be two integers (row, column), got ({y!r}, {x!r})') \
            from None
    if row != y or col != x:
        raise ValueError(f'pixel must be two integers (row, column), got ({y!r}, {x!r})')
    height, width = size
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f'pixel (row {row}, column {col}) is outside the {height} x {width} '
                         f'image (rows 0..{height - 1}, columns 0..{width - 1})')
    return row, col


def _ssa_side(inspection: PixelInspection, y: int, x: int) -> ModelPixel:
    names, internals = inspection.class_names, inspection.internals
    top = inspection.ssa.at(y, x, names)
    if internals is None:
        return ModelPixel(inspection.model_names[1], top)
    size = inspection.image_size
    coarse_top = _top(torch.softmax(bilinear_at(internals.coarse, size, y, x).double(), 0),
                      names)
    feat = bilinear_at(internals.feat, size, y, x).double()
    joint = feat + bilinear_at(internals.pos_feat, size, y, x).double()
    listed = list(dict.fromkeys([p.class_index for p in top + coarse_top]))
    fixed_cos = F.cosine_similarity(internals.fixed.double()[listed], feat[None], eps=1e-12)
    center_cos = F.cosine_similarity(internals.centers.double()[listed], joint[None],
                                     eps=1e-12)
    classes = tuple(ClassCosines(k, names[k], float(a), float(b))
                    for k, a, b in zip(listed, fixed_cos, center_cos))
    return ModelPixel(inspection.model_names[1], top, coarse_top, classes)


def pixel(inspection: PixelInspection, y: int, x: int) -> PixelReport:
    """Both models' answers at pixel (row ``y``, column ``x``) of the processing-size image;
    ValueError for a pixel outside it."""
    y, x = check_pixel(y, x, inspection.image_size)
    gt = None
    if inspection.label is not None:
        value = int(inspection.label[y, x])
        gt = inspection.class_names[value] if value != IGNORE_INDEX and \
            value < len(inspection.class_names) else None
    baseline = ModelPixel(inspection.model_names[0],
                          inspection.baseline.at(y, x, inspection.class_names))
    ssa = _ssa_side(inspection, y, x)
    return PixelReport((y, x), inspection.image_size, gt, baseline, ssa,
                       explain(baseline, ssa, gt))


# --------------------------------------------------------------------------- the sentence

def percent(prob: float) -> str:
    return '<1%' if prob < 0.005 else f'{100 * prob:.0f}%'


def explain(baseline: ModelPixel, ssa: ModelPixel, gt: Optional[str] = None) -> str:
    """One sentence that reads the numbers, e.g. "baseline: wall 61%; SSA-Seg: door 83%; the
    coarse mask also said wall (54%); the adapted door centre is closer to this pixel than
    the fixed prototype (0.41 vs 0.12); its lead over the next class is +0.21 with the
    adapted centres, -0.18 with the fixed prototypes". The lead: the class's cosine minus
    the largest cosine of the other listed classes, in the same space."""
    b, s = baseline.top[0], ssa.top[0]
    if b.class_index == s.class_index:
        parts = [f'both models say {s.name} (baseline {percent(b.prob)}, '
                 f'SSA-Seg {percent(s.prob)})']
    else:
        parts = [f'baseline: {b.name} {percent(b.prob)}; SSA-Seg: {s.name} {percent(s.prob)}']
    if ssa.coarse_top:
        c = ssa.coarse_top[0]
        also = ' also' if c.class_index == b.class_index != s.class_index else ''
        parts.append(f'the coarse mask{also} said {c.name} ({percent(c.prob)})')
        own = next(k for k in ssa.classes if k.class_index == s.class_index)
        nearer = 'closer to' if own.cos_center > own.cos_fixed else 'no closer to'
        parts.append(f'the adapted {s.name} centre is {nearer} this pixel than the fixed '
                     f'prototype ({own.cos_center:.2f} vs {own.cos_fixed:.2f})')
        others = [k for k in ssa.classes if k.class_index != s.class_index]
        if others:
            # the two cosines live in different spaces (F and F + Pf); the lead over the
            # next class compares like with like
            lead_center = own.cos_center - max(k.cos_center for k in others)
            lead_fixed = own.cos_fixed - max(k.cos_fixed for k in others)
            parts.append(f'its lead over the next class is {lead_center:+.2f} with the '
                         f'adapted centres, {lead_fixed:+.2f} with the fixed prototypes')
    sentence = '; '.join(parts)
    if gt is not None:
        sentence += f'. Ground truth: {gt}'
    return sentence[0].upper() + sentence[1:] + '.'
