"""Prototype shift: is each prototype nearest its own class's pixels, in the space where
its classifier decides?

For every class with at least ``min_pixels`` pixels in a mask (the label when one is given,
else the prediction) at feature resolution, with ``centroid_k(X)`` = the normalised mean of
the L2-normalised pixel vectors of X over class k's pixels (the classifiers compare by
cosine, so every pixel counts by its direction only):

* ``cos_fixed``   = cos(S_k, centroid_k(F)): the fixed prototype in F, the space the
  baseline (and the SSA coarse mask) decides in;
* ``cos_adapted`` = cos(Sp_k, centroid_k(F)): the adapted semantic prototype, taken
  literally in F (Sp is an MLP output: nothing places it in F's space);
* ``cos_center``  = cos(center_k, centroid_k(F + Pf)): the final SSA centre
  ``center_proj(Sp + Pp)`` in the space the SSA logits are computed in;
* ``margin_fixed`` = cos_fixed minus the largest cos(S_k, centroid_j(F)) over the other
  listed classes j; ``margin_center`` likewise for center_k in F + Pf (> 0: the prototype is
  nearer its own class than any other class present);
* ``rank_fixed`` / ``rank_center``: the rank of class k's own centroid among the listed
  classes' centroids by cosine to the prototype (1 = nearest);
* ``shift`` = 1 - cos(S_k, Sp_k) and ``adapted_nearer`` = cos_adapted > cos_fixed (kept for
  the app's table; not in the JSON).

Everything here is a pure function of tensors, so it can be checked on constructed
features with known answers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

import torch
from torch import Tensor

from ssa_seg.classifier import IGNORE_INDEX

MIN_PIXELS = 5      # classes with fewer feature-resolution pixels are not listed
JSON_FIELDS = ('name', 'num_pixels', 'cos_fixed', 'cos_adapted', 'cos_center',
               'margin_fixed', 'margin_center', 'rank_fixed', 'rank_center')


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
    margin_fixed: Optional[float] = None     # None when only one class is listed
    margin_center: Optional[float] = None
    rank_fixed: int = 1
    rank_center: Optional[int] = None


@dataclass
class ShiftData:
    """Per-class shift numbers of one image; ``source`` says which mask defined the classes."""
    rows: List[ShiftRow]
    source: str = 'prediction'            # 'label' or 'prediction'
    model_name: str = ''
    image_name: str = ''
    min_pixels: int = MIN_PIXELS
    num_listed: Optional[int] = None      # classes with >= min_pixels (None: all are shown)
    selection: str = 'all'                # 'all', 'top-N' (most pixels) or 'named'

    @property
    def num_candidates(self) -> int:
        """How many classes had at least ``min_pixels`` pixels (``rows`` shows a subset)."""
        return len(self.rows) if self.num_listed is None else self.num_listed

    def to_json_dict(self) -> dict:
        return {
            'model': self.model_name,
            'image': self.image_name,
            'source': self.source,
            'min_pixels': self.min_pixels,
            'classes_listed': self.num_candidates,
            'selection': self.selection,
            'classes': [{key: getattr(r, key) for key in JSON_FIELDS} for r in self.rows],
        }

    def row(self, name: str) -> ShiftRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def as_records(self) -> List[dict]:
        return [asdict(r) for r in self.rows]


def select_rows(rows: List[ShiftRow], max_classes: Optional[int] = None,
                names: Optional[Sequence[str]] = None) -> (List[ShiftRow], str):
    """The rows a figure shows, in their given order: the ``names`` given (each must be a
    listed class: KeyError otherwise), else the ``max_classes`` rows with the most pixels
    (ties: lower class index first), else all. Margins and ranks stay those among all rows."""
    if names:
        by_name = {r.name.lower(): r for r in rows}
        missing = [n for n in names if n.lower() not in by_name]
        if missing:
            raise KeyError(f'classes {missing} have too few pixels in this image to be listed '
                           f'(listed: {", ".join(r.name for r in rows)})')
        wanted = {by_name[n.lower()].class_index for n in names}
        return [r for r in rows if r.class_index in wanted], 'named'
    if max_classes is None or len(rows) <= max_classes:
        return rows, 'all'
    if max_classes < 1:
        raise ValueError(f'max_classes must be at least 1, got {max_classes}')
    ranked = sorted(rows, key=lambda r: (-r.num_pixels, r.class_index))[:max_classes]
    keep = {r.class_index for r in ranked}
    return [r for r in rows if r.class_index in keep], f'top-{max_classes}'


def _cos(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise cosine of two n x C tensors (0 when either row is zero)."""
    a = torch.nn.functional.normalize(a, dim=-1, eps=1e-12)
    b = torch.nn.functional.normalize(b, dim=-1, eps=1e-12)
    return (a * b).sum(-1)


def class_centroids(feat: Tensor, mask: Tensor, num_classes: int,
                    ignore_index: int = IGNORE_INDEX, normalize: bool = True):
    """Per class, the normalised mean of the L2-normalised pixel vectors of ``mask``'s pixels
    (``normalize=False``: the plain mean of the raw vectors).

    feat: C x H x W; mask: H x W integer (``ignore_index`` excluded).
    Returns (K x C float64 centroids, K int64 pixel counts); absent classes are zero rows.
    """
    c = feat.shape[0]
    flat = feat.reshape(c, -1).to(torch.float64)
    if normalize:
        flat = torch.nn.functional.normalize(flat, dim=0, eps=1e-12)
    m = mask.reshape(-1).long()
    valid = (m != ignore_index) & (m >= 0) & (m < num_classes)
    sums = torch.zeros(num_classes, c, dtype=torch.float64)
    sums.index_add_(0, m[valid], flat[:, valid].t())
    counts = torch.bincount(m[valid], minlength=num_classes)
    means = sums / counts.clamp_min(1)[:, None].to(torch.float64)
    if normalize:
        means = torch.nn.functional.normalize(means, dim=1, eps=1e-12)
    return means, counts


def margins_and_ranks(protos: Tensor, centroids: Tensor):
    """For n prototypes and the n centroids of the same classes (row i = class i):
    (margin, rank) per class. margin_i = cos(p_i, c_i) - max_{j != i} cos(p_i, c_j)
    (None for n = 1); rank_i = 1 + the number of j != i with cos(p_i, c_j) > cos(p_i, c_i).
    """
    p = torch.nn.functional.normalize(protos.to(torch.float64), dim=1, eps=1e-12)
    c = torch.nn.functional.normalize(centroids.to(torch.float64), dim=1, eps=1e-12)
    cos = p @ c.t()                                                  # n x n
    own = cos.diagonal()
    n = cos.shape[0]
    ranks = [1 + int((cos[i] > own[i]).sum()) for i in range(n)]
    if n < 2:
        return [None] * n, ranks
    others = cos.masked_fill(torch.eye(n, dtype=torch.bool), float('-inf')).amax(dim=1)
    return [float(v) for v in own - others], ranks


def prototype_shift(feat: Tensor, mask: Tensor, fixed: Tensor,
                    adapted: Optional[Tensor] = None, centers: Optional[Tensor] = None,
                    pos_feat: Optional[Tensor] = None,
                    class_names: Optional[Sequence[str]] = None,
                    ignore_index: int = IGNORE_INDEX, min_pixels: int = 1) -> List[ShiftRow]:
    """Shift numbers for every class with at least ``min_pixels`` pixels in ``mask``
    (class-index order); margins and ranks are taken among these listed classes.

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
    present = torch.nonzero(counts >= max(min_pixels, 1)).flatten()
    fixed64 = fixed.detach().cpu().to(torch.float64)
    cos_fixed = _cos(fixed64[present], centroid[present])
    margin_fixed, rank_fixed = margins_and_ranks(fixed64[present], centroid[present])
    margin_center = rank_center = None
    cos_adapted = shift = None
    if adapted is not None:
        adapted64 = adapted.detach().cpu().to(torch.float64)
        cos_adapted = _cos(adapted64[present], centroid[present])
        shift = 1 - _cos(fixed64[present], adapted64[present])
    cos_center = None
    if centers is not None and pos_feat is not None:
        joint = feat.to(torch.float64) + pos_feat.detach().cpu().to(torch.float64)
        joint_centroid, _ = class_centroids(joint, mask, k, ignore_index)
        centers64 = centers.detach().cpu().to(torch.float64)[present]
        cos_center = _cos(centers64, joint_centroid[present])
        margin_center, rank_center = margins_and_ranks(centers64, joint_centroid[present])

    rows = []
    for i, cls in enumerate(present.tolist()):
        row = ShiftRow(class_index=cls, name=names[cls], num_pixels=int(counts[cls]),
                       cos_fixed=float(cos_fixed[i]), margin_fixed=margin_fixed[i],
                       rank_fixed=rank_fixed[i])
        if cos_adapted is not None:
            row.cos_adapted = float(cos_adapted[i])
            row.shift = float(shift[i])
            row.adapted_nearer = bool(cos_adapted[i] > cos_fixed[i])
        if cos_center is not None:
            row.cos_center = float(cos_center[i])
            row.margin_center, row.rank_center = margin_center[i], rank_center[i]
        rows.append(row)
    return rows
