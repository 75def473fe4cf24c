"""t-SNE of pixel features with class prototypes embedded jointly (paper Fig. 1 / Fig. 5).

Implementation: openTSNE, chosen by measurement (``bench/bench_tsne.py``: 2 CPU cores
shared with other work, one thread per library, pixel features of the demo SSA-Seg model on
SynthScenes, C = 128). Both libraries got the same inputs (L2-normalised, PCA to 50 dims),
perplexity 30 and the same PCA initialisation; quality is the share of each point's 10
nearest neighbours kept in 2-D (kNN@10) and trustworthiness (T@10)::

    points  schedule (iterations)      library    seconds   kNN@10   T@10
    3000    classic 250+500            sklearn      6.2     0.673    0.9973
    3000    classic 250+500            openTSNE     3.7     0.667    0.9971
    3000    short (sklearn: 250+150)   sklearn      3.5     0.649    0.9970
    3000    short 75+150               openTSNE     1.3     0.670    0.9972
    10000   classic 250+500            sklearn     23.1     0.689    0.9988
    10000   classic 250+500            openTSNE    10.0     0.668    0.9988
    10000   short (sklearn: 250+150)   sklearn     13.2     0.635    0.9984
    10000   short 75+150               openTSNE     3.1     0.662    0.9986

At equal settings the two keep neighbourhoods about equally well (kNN@10 within 0.02, T@10
equal to 3 decimals) and openTSNE is 1.7x (3k) to 2.3x (10k) faster; only openTSNE lets
the exaggeration phase be shortened (scikit-learn fixes it at 250 iterations), and its
75+150 schedule keeps 99-100% of its classic schedule's kNN@10 (96% of scikit-learn's best)
in a third of the time. That is what puts a 10,000-point figure under the 5 s target.
Details that matter:

* neighbours are exact (``method='exact'``) up to 20,000 points: deterministic, the best
  fidelity, and faster than Annoy at this size (0.6 s vs 2.9 s for 10k points);
* the repulsive forces use Barnes-Hut below 10,000 points and FFT interpolation from
  10,000 on (openTSNE's own rule; measured: FFT 2.6x the CPU time of Barnes-Hut at 3k, half
  of it at 10k, since its cost follows the map's extent rather than N); theta 0.8 instead
  of 0.5 cut Barnes-Hut time by 30% at equal kNN@10, and FFT grid cells of side 2 instead
  of 1 (``ints_in_interval``) cut FFT time by 40% for -0.004 kNN@10;
* one thread by default: on 2 cores shared with the app, 2 threads were slower; results
  are identical either way.

Every step that involves chance takes the seed: the stratified pixel sample, PCA (exact,
sign-fixed), the initialisation (PCA, not random) and the neighbour search (exact). Same
inputs and seed -> the same embedding, bit for bit (tested).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

from .feature_grid import FeatureGrid

DEFAULT_MAX_POINTS = 3000
DEFAULT_PERPLEXITY = 30.0
PCA_DIMS = 50

BACKENDS = ('opentsne', 'sklearn')
DEFAULT_BACKEND = 'opentsne'
# 'classifier' is the decision space (the default view): the space each model's logits are
# computed in. 'semantic' and 'spatial' show Sp beside F and Pp beside Pf literally.
DOMAINS = ('classifier', 'semantic', 'spatial')
DEFAULT_DOMAINS = ('classifier',)
# Optimisation schedule: (exaggerated, normal) iterations; see the module docstring.
EARLY_ITER = 75
FINAL_ITER = 150
BH_THETA = 0.8
FFT_INTS_IN_INTERVAL = 2
# Feature cells whose image pixels span several ground-truth classes ("mixed"): dropped
# from the sample by default when a label is given (their feature blends classes, so they
# smear the clusters; the usual cleaning of such maps), or kept.
MIXED_CELLS = ('drop', 'keep')
DEFAULT_MIXED_CELLS = 'drop'
NEAREST_CHUNK = 4096        # rows per block when finding each cell's nearest sampled point


# --------------------------------------------------------------------------- sampling

def stratified_sample(classes: np.ndarray, max_points: int, seed: int = 0,
                      ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Indices of at most ``max_points`` entries of ``classes``, stratified by class.

    The budget is shared equally among the classes present ("water-filling"): a class with
    fewer pixels than its share gives all of them and the rest is redistributed, so small
    classes stay visible next to large ones. Ignored entries are never drawn. Indices are
    returned sorted, so the same seed gives the same sample.
    """
    classes = np.asarray(classes).reshape(-1)
    valid = np.flatnonzero(classes != ignore_index)
    if max_points <= 0 or valid.size == 0:
        return np.zeros(0, dtype=np.int64)
    if valid.size <= max_points:
        return valid.astype(np.int64)
    rng = np.random.default_rng(seed)
    ids, counts = np.unique(classes[valid], return_counts=True)
    quota = np.zeros_like(counts)
    remaining, open_ = max_points, np.ones(len(ids), dtype=bool)
    while remaining > 0 and open_.any():
        share = max(remaining // int(open_.sum()), 1)
        for i in np.flatnonzero(open_):
            take = min(share, counts[i] - quota[i], remaining)
            quota[i] += take
            remaining -= take
            if quota[i] == counts[i]:
                open_[i] = False
            if remaining == 0:
                break
    picked = []
    for cls, q in zip(ids, quota):
        members = valid[classes[valid] == cls]
        picked.append(rng.choice(members, size=int(q), replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def pure_cell_mask(grid: FeatureGrid, image_label: np.ndarray, cell_label: np.ndarray,
                   num_classes: int) -> np.ndarray:
    """h x w bool: the cells a t-SNE may draw when mixed cells are dropped.

    A cell is kept when all labelled image pixels in it (``grid``'s pixel boxes over the
    H x W ``image_label``) have one class and that class is the cell's own label
    (``cell_label``, h x w, what :func:`analysis.extract.label_to_feature_grid` gave it:
    nearest-neighbour resizing may take a cell's label from a pixel just outside its box).
    Cells without labelled pixels are ignored anyway (255 in ``cell_label``) and stay True.
    """
    classes = grid.cell_classes(image_label, num_classes)
    cell_label = np.asarray(cell_label)
    return (cell_label == IGNORE_INDEX) | (classes == cell_label)


# --------------------------------------------------------------------------- embedding

def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pca_reduce(x: np.ndarray, dims: int = PCA_DIMS) -> np.ndarray:
    """Project rows onto the top ``dims`` principal components (exact, deterministic).

    The sign of every component is fixed (largest loading positive) so the result does not
    depend on the LAPACK build.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.shape[1] <= dims:
        return (x - x.mean(0)).astype(np.float32)
    centred = x - x.mean(0)
    # Eigen-decomposition of the C x C covariance: cheap for C <= a few hundred.
    cov = centred.T @ centred
    vals, vecs = np.linalg.eigh(cov)
    vecs = vecs[:, np.argsort(vals)[::-1][:dims]]
    signs = np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(dims)])
    vecs = vecs * np.where(signs == 0, 1, signs)
    return (centred @ vecs).astype(np.float32)


def _pca_init(x: np.ndarray) -> np.ndarray:
    """Initial 2-D layout: first two principal components scaled to std 1e-4 (as both
    libraries do for ``initialization='pca'``), computed here so both start identically."""
    y = pca_reduce(x, 2).astype(np.float64)
    y = y / max(float(np.std(y[:, 0])), 1e-12) * 1e-4
    return y


def embed(x: np.ndarray, *, seed: int = 0, perplexity: float = DEFAULT_PERPLEXITY,
          backend: str = DEFAULT_BACKEND, early_exaggeration_iter: int = EARLY_ITER,
          n_iter: int = FINAL_ITER, n_jobs: int = 1, normalize: bool = True) -> np.ndarray:
    """2-D t-SNE of the rows of ``x`` (N x D) -> N x 2 float32.

    Rows are L2-normalised (so Euclidean distance orders neighbours as cosine does, the
    similarity SSA-Seg classifies with), reduced to 50 dimensions by PCA, and embedded with
    perplexity ``perplexity`` (lowered for tiny N), PCA initialisation,
    ``early_exaggeration_iter`` iterations with exaggeration 12, then ``n_iter`` more.
    ``backend='sklearn'`` exists for comparison (its exaggeration phase is fixed at 250
    iterations, so its total is ``max(250 + n_iter, early + n_iter)``).
    """
    if backend not in BACKENDS:
        raise ValueError(f'unknown t-SNE backend {backend!r}; choose from {BACKENDS}')
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < 4:
        y = np.zeros((n, 2), dtype=np.float32)
        if n > 1:
            p = pca_reduce(x, 2)
            y[:, :p.shape[1]] = p[:, :2]
        return y
    if normalize:
        x = l2_normalize(x)
    x = pca_reduce(x, PCA_DIMS)
    perplexity = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    init = _pca_init(x)
    if backend == 'opentsne':
        from openTSNE import TSNE, affinity
        # Exact neighbours: deterministic, best fidelity, and faster than Annoy up to ~20k.
        affinities = affinity.PerplexityBasedNN(
            x, perplexity=perplexity, method='exact' if n <= 20000 else 'annoy',
            n_jobs=n_jobs, random_state=seed)
        # Barnes-Hut below 10k points, FFT interpolation above (measured crossover).
        tsne = TSNE(n_components=2, n_iter=n_iter, early_exaggeration_iter=early_exaggeration_iter,
                    early_exaggeration=12, learning_rate='auto', initial_momentum=0.5,
                    final_momentum=0.8, negative_gradient_method='bh' if n < 10000 else 'fft',
                    theta=BH_THETA, ints_in_interval=FFT_INTS_IN_INTERVAL, n_jobs=n_jobs,
                    random_state=seed, verbose=False)
        y = np.asarray(tsne.fit(affinities=affinities, initialization=init))
    else:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits
        tsne = TSNE(n_components=2, perplexity=perplexity, init=init.astype(np.float32),
                    max_iter=max(250, early_exaggeration_iter) + n_iter, early_exaggeration=12,
                    learning_rate='auto', method='barnes_hut', angle=0.5, n_jobs=n_jobs,
                    random_state=seed)
        # scikit-learn's n_jobs covers only its neighbour search; its gradient uses every
        # OpenMP thread unless limited, which would make the comparison unequal.
        with threadpool_limits(limits=max(n_jobs, 1), user_api='openmp'):
            y = tsne.fit_transform(x)
    return np.ascontiguousarray(y, dtype=np.float32)


# --------------------------------------------------------------------------- quality

def _knn(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Indices of the k nearest neighbours (Euclidean, self excluded) of every row."""
    import torch
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    sq = (t * t).sum(1)
    out = []
    for s in range(0, t.shape[0], chunk):
        d = sq[s:s + chunk, None] - 2 * t[s:s + chunk] @ t.T + sq[None]
        rows = torch.arange(s, min(s + chunk, t.shape[0]))
        d[torch.arange(len(rows)), rows] = float('inf')
        out.append(torch.topk(d, k, dim=1, largest=False).indices)
    return torch.cat(out).numpy()


def knn_preservation(high: np.ndarray, low: np.ndarray, k: int = 10) -> float:
    """Mean fraction of each point's k nearest neighbours in ``high`` that are also among
    its k nearest in ``low`` (1 = every neighbourhood kept)."""
    a, b = _knn(high, k), _knn(low, k)
    hits = [len(np.intersect1d(r, s, assume_unique=True)) for r, s in zip(a, b)]
    return float(np.mean(hits) / k)


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = 10, chunk: int = 1024) -> float:
    """Trustworthiness T(k) (Venna & Kaski): 1 minus a penalty for every 2-D neighbour that
    was not a high-dimensional one, weighted by how far down the high-dimensional ranking it
    was. Same value as ``sklearn.manifold.trustworthiness``, computed in row chunks so that
    10k points do not need an N x N rank matrix at once."""
    import torch
    n = high.shape[0]
    if k >= n / 2:
        raise ValueError(f'k={k} must be < n/2 = {n / 2}')
    h = torch.from_numpy(np.ascontiguousarray(high, dtype=np.float64))
    lo = torch.from_numpy(np.ascontiguousarray(low, dtype=np.float64))
    penalty = 0
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        local = torch.arange(e - s)
        dh = torch.cdist(h[s:e], h)
        dh[local, torch.arange(s, e)] = -1.0          # self ranks 0
        order = torch.argsort(dh, dim=1, stable=True)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(n).expand(e - s, n).contiguous())
        dl = torch.cdist(lo[s:e], lo)
        dl[local, torch.arange(s, e)] = float('inf')
        nearest_low = torch.topk(dl, k, dim=1, largest=False).indices
        penalty += int(torch.clamp(torch.gather(rank, 1, nearest_low) - k, min=0).sum())
    return float(1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty)


# --------------------------------------------------------------------------- panels

@dataclass
class TsnePanel:
    """One t-SNE map: pixel points plus prototype points, all from one joint embedding.

    points: N x 2, point_classes: N class ids (from the label or the prediction).
    protos: role -> (len(proto_classes) x 2) positions; roles are 'fixed' and, for SSA-Seg,
    'adapted'. proto_labels: role -> legend text. cosines: role -> cos(prototype of the
    highlighted class, its pixel centroid) in the original feature space (NaN when the class
    has no pixels here).

    Every point knows its pixel (when the features came as a C x h x w map):
    cells: N x 2 int64, the feature cell (row, col) of each point; grid: the feature grid's
    place on the processing-size image (:class:`analysis.feature_grid.FeatureGrid`: cell
    (r, c) holds image pixel (y, x) when r = floor((y + 0.5) * Hs/H * h/Hp), likewise c);
    boxes: N x 4 int64, the image pixels each point stands for, (y0, x0, y1, x1) half-open
    (``grid.boxes(cells)``); nearest: h x w int64, for every cell the index of the sampled
    point nearest to it in this panel's feature space (largest cosine; a sampled cell's own
    point). mixed_dropped: labelled cells left out because their pixels span several
    classes (None when that filter did not run: no label, or mixed cells kept).
    """
    title: str
    domain: str
    model_name: str
    points: np.ndarray
    point_classes: np.ndarray
    proto_classes: np.ndarray
    protos: Dict[str, np.ndarray]
    proto_labels: Dict[str, str]
    cosines: Dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    cells: Optional[np.ndarray] = None
    boxes: Optional[np.ndarray] = None
    grid: Optional[FeatureGrid] = None
    nearest: Optional[np.ndarray] = None
    mixed_dropped: Optional[int] = None

    @property
    def pixels(self) -> Optional[np.ndarray]:
        """N x 2 (y, x): the image pixel at the centre of each point's box."""
        return None if self.boxes is None else FeatureGrid.centres(self.boxes)

    def proto_point(self, role: str, cls: int) -> Optional[np.ndarray]:
        hit = np.flatnonzero(self.proto_classes == cls)
        return self.protos[role][hit[0]] if hit.size else None


@dataclass
class TsneData:
    """Everything the t-SNE figure shows; rendered by plotly and matplotlib alike."""
    panels: List[TsnePanel]
    class_names: List[str]
    highlight: int
    seed: int
    perplexity: float
    backend: str
    max_points: int
    source: str
    image_name: str = ''
    iterations: Tuple[int, int] = (EARLY_ITER, FINAL_ITER)
    mixed_cells: str = DEFAULT_MIXED_CELLS

    @property
    def highlight_name(self) -> str:
        return self.class_names[self.highlight]


def _centroid_cos(feat_rows: np.ndarray, point_classes: np.ndarray, cls: int,
                  proto: np.ndarray) -> float:
    """cos(proto, centroid) with the centroid of :func:`analysis.shift.class_centroids`:
    the mean of the class's L2-normalised pixel vectors."""
    members = feat_rows[point_classes == cls]
    if members.size == 0:
        return float('nan')
    members = members.astype(np.float64)
    members = members / np.maximum(np.linalg.norm(members, axis=1, keepdims=True), 1e-12)
    c = members.mean(0)
    p = proto.astype(np.float64)
    return float(c @ p / max(np.linalg.norm(c) * np.linalg.norm(p), 1e-12))


def nearest_sampled(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """For each of the M rows (M x C) the position in ``idx`` of the sampled row
    (``rows[idx]``) with the largest cosine to it -> (M,) int64; a sampled row maps to its
    own position, and with an empty sample every entry is -1. Blocks of NEAREST_CHUNK rows."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        return np.full(len(rows), -1, dtype=np.int64)
    unit = l2_normalize(rows)
    sample = unit[idx]
    out = np.empty(len(unit), dtype=np.int64)
    for s in range(0, len(unit), NEAREST_CHUNK):
        out[s:s + NEAREST_CHUNK] = np.argmax(unit[s:s + NEAREST_CHUNK] @ sample.T, axis=1)
    out[idx] = np.arange(idx.size)
    return out


def tsne_panel(feat: np.ndarray, classes: np.ndarray, protos: Dict[str, np.ndarray],
               proto_labels: Dict[str, str], highlight: int, *, title: str, domain: str,
               model_name: str = '', max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
               perplexity: float = DEFAULT_PERPLEXITY, backend: str = DEFAULT_BACKEND,
               iterations: Tuple[int, int] = (EARLY_ITER, FINAL_ITER),
               n_jobs: int = 1, grid: Optional[FeatureGrid] = None,
               allowed: Optional[np.ndarray] = None) -> TsnePanel:
    """Embed a stratified sample of pixels jointly with prototypes.

    feat: C x h x w features (or N x C: then the points have no cells); classes: h x w (or N)
    class ids with 255 ignored; protos: role -> K x C prototypes. Prototypes are included
    for every class in the sample plus the highlighted one. Cosines to the class centroid
    use all of the class's pixels (mixed cells included: the same centroid as the shift
    figure's). grid: where the h x w cells lie on the image (gives each point's pixel box);
    allowed: h x w (or N) bool, the entries the sample may draw from (:func:`pure_cell_mask`;
    None: all).
    """
    start = time.perf_counter()
    feat = np.asarray(feat, dtype=np.float32)
    rows = feat.reshape(feat.shape[0], -1).T if feat.ndim == 3 else feat
    classes = np.asarray(classes).reshape(-1).astype(np.int64)
    drawable = classes
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool).reshape(-1)
        drawable = np.where(allowed, classes, IGNORE_INDEX)
    idx = stratified_sample(drawable, max_points, seed)
    sample, sample_classes = rows[idx], classes[idx]
    proto_classes = np.union1d(np.unique(sample_classes), [highlight]).astype(np.int64)
    roles = list(protos)
    stacked = [sample] + [np.asarray(protos[r], dtype=np.float32)[proto_classes] for r in roles]
    y = embed(np.concatenate(stacked), seed=seed, perplexity=perplexity, backend=backend,
              early_exaggeration_iter=int(iterations[0]), n_iter=int(iterations[1]),
              n_jobs=n_jobs)
    n, m = len(sample), len(proto_classes)
    proto_points = {r: y[n + i * m: n + (i + 1) * m] for i, r in enumerate(roles)}
    cosines = {r: _centroid_cos(rows, classes, highlight, np.asarray(protos[r])[highlight])
               for r in roles}
    cells = boxes = nearest = None
    if feat.ndim == 3:
        h, w = feat.shape[1:]
        cells = np.stack([idx // w, idx % w], axis=1)
        nearest = nearest_sampled(rows, idx).reshape(h, w)
        if grid is not None:
            if tuple(grid.feature_size) != (h, w):
                raise ValueError(f'feature grid {grid.feature_size} does not match the '
                                 f'features ({h}, {w})')
            boxes = grid.boxes(cells)
    dropped = None if allowed is None else int(((classes != IGNORE_INDEX) & ~allowed).sum())
    return TsnePanel(title=title, domain=domain, model_name=model_name, points=y[:n],
                     point_classes=sample_classes, proto_classes=proto_classes,
                     protos=proto_points, proto_labels=dict(proto_labels), cosines=cosines,
                     seconds=time.perf_counter() - start, cells=cells, boxes=boxes,
                     grid=grid if boxes is not None else None, nearest=nearest,
                     mixed_dropped=dropped)


@dataclass(frozen=True)
class MarkedPoint:
    """The point of one panel that stands for an inspected image pixel.

    pixel: (y, x) at the processing size; cell: its feature cell (row, col); index: the
    position in ``panel.points``; exact: True when that cell is one of the sampled points,
    False when ``index`` is the sampled point nearest to the cell in the panel's feature
    space (largest cosine, :attr:`TsnePanel.nearest`).
    """
    pixel: Tuple[int, int]
    cell: Tuple[int, int]
    index: int
    exact: bool


def marked_point(panel: TsnePanel, pixel: Sequence[int]) -> Optional[MarkedPoint]:
    """The point that marks image pixel ``pixel`` = (y, x) in ``panel``; None when the panel
    has no pixel geometry (features given as rows) or no points. ValueError when the pixel is
    outside the image."""
    if panel.grid is None or panel.cells is None or panel.nearest is None \
            or len(panel.points) == 0:
        return None
    y, x = (int(v) for v in pixel)
    cell = panel.grid.cell_of(y, x)
    hit = np.flatnonzero((panel.cells[:, 0] == cell[0]) & (panel.cells[:, 1] == cell[1]))
    if hit.size:
        return MarkedPoint((y, x), cell, int(hit[0]), True)
    return MarkedPoint((y, x), cell, int(panel.nearest[cell]), False)


def default_highlight(classes: np.ndarray, num_classes: int) -> int:
    """The class with the most (non-ignored) pixels."""
    c = np.asarray(classes).reshape(-1)
    c = c[(c != IGNORE_INDEX) & (c >= 0) & (c < num_classes)]
    if c.size == 0:
        return 0
    return int(np.argmax(np.bincount(c, minlength=num_classes)))


def tsne_data(extraction, baseline=None, class_name=None, *, max_points: int = DEFAULT_MAX_POINTS,
              seed: int = 0, perplexity: float = DEFAULT_PERPLEXITY,
              backend: str = DEFAULT_BACKEND, domains: Sequence[str] = DEFAULT_DOMAINS,
              iterations: Tuple[int, int] = (EARLY_ITER, FINAL_ITER),
              n_jobs: int = 1, mixed_cells: str = DEFAULT_MIXED_CELLS) -> TsneData:
    """The panels of the t-SNE figure for one image.

    extraction: :class:`analysis.extract.Extraction` of the SSA-Seg model (a vanilla model
    works too: one semantic panel with its fixed prototypes). baseline: optional Extraction of
    the baseline on the same image, drawn first. class_name: name or index of the class to
    highlight (default: the class with most pixels in the SSA-Seg model's mask).
    Panels, in the order of ``domains``, after the baseline's (F with its S: the baseline
    decides by the inner product of F with S, plus a bias):

    * ``'classifier'`` (default): the decision space of SSA-Seg, F + Pf with S and the final
      centers ``center_proj(Sp + Pp)`` (the logits are 15 cos(F + Pf, center));
    * ``'semantic'``: Sp beside F, literally (Sp is an MLP output; nothing places it in F's
      space, so its position there is not a claim of the method);
    * ``'spatial'``: Pp beside Pf, with the position basis P.

    Every vector is L2-normalised before embedding (the SSA classifier compares by cosine).
    The sample is class-balanced (:func:`stratified_sample`); ``mixed_cells='drop'`` (the
    default) leaves out feature cells whose image pixels span several ground-truth classes
    (:func:`pure_cell_mask`); without a label it has no effect (membership then comes from
    the prediction, which has no boundary cells to speak of).
    """
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f'unknown t-SNE domain(s) {sorted(unknown)}; choose from {DOMAINS}')
    if mixed_cells not in MIXED_CELLS:
        raise ValueError(f'mixed cells {mixed_cells!r}: choose from {", ".join(MIXED_CELLS)}')
    mask, source = extraction.mask()
    names = extraction.class_names
    if class_name is None:
        highlight = default_highlight(mask.numpy(), len(names))
    else:
        highlight = extraction.class_index(class_name)
    common = dict(max_points=max_points, seed=seed, perplexity=perplexity, backend=backend,
                  iterations=tuple(iterations), n_jobs=n_jobs, grid=extraction.grid,
                  allowed=_allowed_cells(extraction, mixed_cells))
    panels = []
    if baseline is not None:
        bmask, _ = baseline.mask()
        panels.append(tsne_panel(
            baseline.feat.numpy(), bmask.numpy(), {'fixed': baseline.fixed_protos.numpy()},
            {'fixed': 'fixed prototype S'}, highlight, title='Baseline: F vs S (inner prod.)',
            domain='classifier', model_name=baseline.model_name,
            **{**common, 'grid': baseline.grid,
               'allowed': _allowed_cells(baseline, mixed_cells)}))
    label = 'SSA-Seg' if extraction.is_ssa else 'Model'
    for domain in domains:
        if domain == 'classifier' and extraction.is_ssa:
            panels.append(tsne_panel(
                (extraction.feat + extraction.pos_feat).numpy(), mask.numpy(),
                {'fixed': extraction.fixed_protos.numpy(), 'adapted': extraction.centers.numpy()},
                {'fixed': 'fixed prototype S', 'adapted': 'final center'}, highlight,
                title=f'{label}: F+Pf vs centre', domain='classifier',
                model_name=extraction.model_name, **common))
        elif domain == 'semantic' or (domain == 'classifier' and not extraction.is_ssa):
            protos = {'fixed': extraction.fixed_protos.numpy()}
            labels = {'fixed': 'fixed prototype S'}
            title = f'{label}: F vs S'
            if extraction.is_ssa:
                protos['adapted'] = extraction.sem_protos.numpy()
                labels['adapted'] = 'adapted prototype Sp'
                title = f'{label}: Sp beside F (literal)'
            panels.append(tsne_panel(extraction.feat.numpy(), mask.numpy(), protos, labels,
                                     highlight, title=title,
                                     domain='semantic' if extraction.is_ssa else 'classifier',
                                     model_name=extraction.model_name, **common))
        elif domain == 'spatial' and extraction.is_ssa:
            panels.append(tsne_panel(
                extraction.pos_feat.numpy(), mask.numpy(),
                {'fixed': extraction.pos_basis.numpy(), 'adapted': extraction.pos_protos.numpy()},
                {'fixed': 'position basis P', 'adapted': 'spatial prototype Pp'}, highlight,
                title=f'{label}: Pp beside Pf', domain='spatial',
                model_name=extraction.model_name, **common))
    return TsneData(panels=panels, class_names=list(names), highlight=highlight, seed=seed,
                    perplexity=perplexity, backend=backend, max_points=max_points,
                    source=source, image_name=extraction.image_name,
                    iterations=tuple(iterations), mixed_cells=mixed_cells)


def _allowed_cells(extraction, mixed_cells: str) -> Optional[np.ndarray]:
    """The cells the sample may draw from (:func:`pure_cell_mask`), or None: mixed cells
    kept, or no label (nothing to tell mixed cells by)."""
    if (mixed_cells == 'keep' or extraction.label is None or extraction.image_label is None
            or extraction.grid is None):
        return None
    return pure_cell_mask(extraction.grid, extraction.image_label.numpy(),
                          extraction.label.numpy(), extraction.num_classes)
