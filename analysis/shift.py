"""Prototype shift: does adaptation move a class prototype towards this image's pixels?

For every class present in a mask (the label when one is given, else the prediction), at
feature resolution:

* ``cos_fixed``   = cos(S_k,  centroid of F over the class's pixels)
* ``cos_adapted`` = cos(Sp_k, the same centroid)
* ``cos_center``  = cos(center_k, centroid of F + Pf over the class's pixels); the final
  SSA-Seg classifier compares pixels ``F + Pf`` with ``center_k``, so this is the
  quantity the logits actually see.
* ``shift``       = 1 - cos(S_k, Sp_k), how far adaptation moved the prototype
* ``adapted_nearer`` = cos_adapted > cos_fixed
* ``num_pixels``  = feature-resolution pixels of the class in the mask (the pixels the
  centroids are averaged over).

Everything here is a pure function of tensors, so it can be checked on constructed
features with known answers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from ssa_seg.classifier import IGNORE_INDEX


@dataclass
class ShiftRow:
    class_index: int
    name: str
    num_pixels: int
    cos_fixed: float
    cos_adapted: Optional[float] = None
    cos_center: Optional[float] = None
    shift: Optional[float] = None
    adapted_nearer: Optional[bool] = None


@dataclass
class ShiftData:
    """Per-class shift numbers of one image; ``source`` says which mask defined the classes."""
    rows: List[ShiftRow]
    source: str = 'prediction'            # 'label' or 'prediction'
    model_name: str = ''
    image_name: str = ''

    def to_json_dict(self) -> dict:
        return {
            'model': self.model_name,
            'image': self.image_name,
            'source': self.source,
            'classes': [
                {'name': r.name, 'cos_fixed': r.cos_fixed, 'cos_adapted': r.cos_adapted,
                 'cos_center': r.cos_center, 'num_pixels': r.num_pixels,
                 'class_index': r.class_index, 'shift': r.shift,
                 'adapted_nearer': r.adapted_nearer}
                for r in self.rows
            ],
        }

    def row(self, name: str) -> ShiftRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def as_records(self) -> List[dict]:
        return [asdict(r) for r in self.rows]


def _cos(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise cosine of two n x C tensors (0 when either row is zero)."""
    a = torch.nn.functional.normalize(a, dim=-1, eps=1e-12)
    b = torch.nn.functional.normalize(b, dim=-1, eps=1e-12)
    return (a * b).sum(-1)


def class_centroids(feat: Tensor, mask: Tensor, num_classes: int,
                    ignore_index: int = IGNORE_INDEX):
    """Mean feature per class over the pixels of ``mask``.

    feat: C x H x W; mask: H x W integer (``ignore_index`` excluded).
    Returns (K x C float64 centroids, K int64 pixel counts); absent classes are zero rows.
    """
    c = feat.shape[0]
    flat = feat.reshape(c, -1).to(torch.float64)
    m = mask.reshape(-1).long()
    valid = (m != ignore_index) & (m >= 0) & (m < num_classes)
    sums = torch.zeros(num_classes, c, dtype=torch.float64)
    sums.index_add_(0, m[valid], flat[:, valid].t())
    counts = torch.bincount(m[valid], minlength=num_classes)
    return sums / counts.clamp_min(1)[:, None].to(torch.float64), counts


def prototype_shift(feat: Tensor, mask: Tensor, fixed: Tensor,
                    adapted: Optional[Tensor] = None, centers: Optional[Tensor] = None,
                    pos_feat: Optional[Tensor] = None,
                    class_names: Optional[Sequence[str]] = None,
                    ignore_index: int = IGNORE_INDEX) -> List[ShiftRow]:
    """Shift numbers for every class present in ``mask`` (class-index order).

    feat: C x H x W pixel features F; mask: H x W class ids at the same resolution;
    fixed: K x C fixed prototypes S; adapted: K x C adapted prototypes Sp (None for a vanilla
    model); centers: K x C final centers (needs ``pos_feat`` C x H x W, the spatial
    features Pf). Missing inputs leave the matching fields None.
    """
    if feat.dim() != 3 or mask.shape != feat.shape[1:]:
        raise ValueError(f'feat must be C x H x W and mask H x W, got {tuple(feat.shape)} '
                         f'and {tuple(mask.shape)}')
    k = fixed.shape[0]
    names = list(class_names) if class_names is not None else [f'class_{i}' for i in range(k)]
    feat = feat.detach().cpu()
    mask = mask.detach().cpu()
    centroid, counts = class_centroids(feat, mask, k, ignore_index)
    present = torch.nonzero(counts > 0).flatten()
    fixed64 = fixed.detach().cpu().to(torch.float64)
    cos_fixed = _cos(fixed64[present], centroid[present])
    cos_adapted = shift = None
    if adapted is not None:
        adapted64 = adapted.detach().cpu().to(torch.float64)
        cos_adapted = _cos(adapted64[present], centroid[present])
        shift = 1 - _cos(fixed64[present], adapted64[present])
    cos_center = None
    if centers is not None and pos_feat is not None:
        joint = feat.to(torch.float64) + pos_feat.detach().cpu().to(torch.float64)
        joint_centroid, _ = class_centroids(joint, mask, k, ignore_index)
        cos_center = _cos(centers.detach().cpu().to(torch.float64)[present],
                          joint_centroid[present])

    rows = []
    for i, cls in enumerate(present.tolist()):
        row = ShiftRow(class_index=cls, name=names[cls], num_pixels=int(counts[cls]),
                       cos_fixed=float(cos_fixed[i]))
        if cos_adapted is not None:
            row.cos_adapted = float(cos_adapted[i])
            row.shift = float(shift[i])
            row.adapted_nearer = bool(cos_adapted[i] > cos_fixed[i])
        if cos_center is not None:
            row.cos_center = float(cos_center[i])
        rows.append(row)
    return rows
