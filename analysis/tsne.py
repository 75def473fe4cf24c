"""t-SNE of pixel features with class prototypes embedded jointly (paper Fig. 1 / Fig. 5).

Choice of implementation, measured on this project's machine (2 CPU cores) by
``bench/bench_tsne.py``; see BACKEND_NOTE below for the numbers. Both libraries are called
with the same settings (perplexity 30, PCA initialisation, L2-normalised inputs reduced to
50 dimensions by PCA, the same iteration budget) and scored on how well the 2-D map keeps
each point's 10 nearest neighbours (kNN preservation) and on trustworthiness.

Every step that involves chance takes the seed: the stratified pixel sample, PCA (exact
SVD), the embedding's initialisation, and the neighbour search. Same inputs and seed ->
the same embedding, bit for bit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

IGNORE_INDEX = 255
DEFAULT_MAX_POINTS = 3000
DEFAULT_PERPLEXITY = 30.0
PCA_DIMS = 50

BACKENDS = ('opentsne', 'sklearn')
DEFAULT_BACKEND = 'opentsne'
BACKEND_NOTE = 'filled in from bench/bench_tsne.py measurements'


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
          backend: str = DEFAULT_BACKEND, n_iter: int = 500, early_exaggeration_iter: int = 250,
          n_jobs: int = 1, normalize: bool = True) -> np.ndarray:
    """2-D t-SNE of the rows of ``x`` (N x D) -> N x 2 float32.

    Rows are L2-normalised (so Euclidean distance orders neighbours as cosine does, the
    similarity SSA-Seg classifies with), reduced to 50 dimensions by PCA, and embedded with
    perplexity ``perplexity`` (lowered for tiny N), PCA initialisation, ``early_exaggeration_iter``
    iterations with exaggeration 12 followed by ``n_iter`` normal ones.
    """
    if backend not in BACKENDS:
        raise ValueError(f'unknown t-SNE backend {backend!r}; choose from {BACKENDS}')
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if n < 4:
        return np.pad(pca_reduce(x, 2), ((0, 0), (0, max(0, 2 - min(x.shape[1], 2)))))[:, :2]
    if normalize:
        x = l2_normalize(x)
    x = pca_reduce(x, PCA_DIMS)
    perplexity = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    init = _pca_init(x)
    if backend == 'opentsne':
        from openTSNE import TSNE
        tsne = TSNE(n_components=2, perplexity=perplexity, initialization=init,
                    n_iter=n_iter, early_exaggeration_iter=early_exaggeration_iter,
                    early_exaggeration=12, learning_rate='auto', neighbors='auto',
                    negative_gradient_method='auto', n_jobs=n_jobs, random_state=seed,
                    verbose=False)
        y = np.asarray(tsne.fit(x))
    else:
        from sklearn.manifold import TSNE
        tsne = TSNE(n_components=2, perplexity=perplexity, init=init.astype(np.float32),
                    max_iter=n_iter + early_exaggeration_iter, early_exaggeration=12,
                    learning_rate='auto', method='barnes_hut', n_jobs=n_jobs,
                    random_state=seed)
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


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = 10) -> float:
    """scikit-learn's trustworthiness (penalises 2-D neighbours that were far apart)."""
    from sklearn.manifold import trustworthiness as tw
    return float(tw(high, low, n_neighbors=k))


# --------------------------------------------------------------------------- panels

@dataclass
class TsnePanel:
    """One t-SNE map: pixel points plus prototype points, all from one joint embedding.

    points: N x 2, point_classes: N class ids (from the label or the prediction).
    protos: role -> (len(proto_classes) x 2) positions; roles are 'fixed' and, for SSA-Seg,
    'adapted'. proto_labels: role -> legend text. cosines: role -> cos(prototype of the
    highlighted class, its pixel centroid) in the original feature space (NaN when the class
    has no pixels here).
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

    @property
    def highlight_name(self) -> str:
        return self.class_names[self.highlight]


def _centroid_cos(feat_rows: np.ndarray, point_classes: np.ndarray, cls: int,
                  proto: np.ndarray) -> float:
    members = feat_rows[point_classes == cls]
    if members.size == 0:
        return float('nan')
    c = members.astype(np.float64).mean(0)
    p = proto.astype(np.float64)
    return float(c @ p / max(np.linalg.norm(c) * np.linalg.norm(p), 1e-12))


def tsne_panel(feat: np.ndarray, classes: np.ndarray, protos: Dict[str, np.ndarray],
               proto_labels: Dict[str, str], highlight: int, *, title: str, domain: str,
               model_name: str = '', max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
               perplexity: float = DEFAULT_PERPLEXITY, backend: str = DEFAULT_BACKEND,
               n_jobs: int = 1) -> TsnePanel:
    """Embed a stratified sample of pixels jointly with prototypes.

    feat: C x H x W (or N x C) features; classes: H x W (or N) class ids with 255 ignored;
    protos: role -> K x C prototypes. Prototypes are included for every class in the sample
    plus the highlighted one. Cosines to the class centroid use all of the class's pixels.
    """
    start = time.perf_counter()
    feat = np.asarray(feat, dtype=np.float32)
    rows = feat.reshape(feat.shape[0], -1).T if feat.ndim == 3 else feat
    classes = np.asarray(classes).reshape(-1).astype(np.int64)
    idx = stratified_sample(classes, max_points, seed)
    sample, sample_classes = rows[idx], classes[idx]
    proto_classes = np.union1d(np.unique(sample_classes), [highlight]).astype(np.int64)
    roles = list(protos)
    stacked = [sample] + [np.asarray(protos[r], dtype=np.float32)[proto_classes] for r in roles]
    y = embed(np.concatenate(stacked), seed=seed, perplexity=perplexity, backend=backend,
              n_jobs=n_jobs)
    n, m = len(sample), len(proto_classes)
    proto_points = {r: y[n + i * m: n + (i + 1) * m] for i, r in enumerate(roles)}
    cosines = {r: _centroid_cos(rows, classes, highlight, np.asarray(protos[r])[highlight])
               for r in roles}
    return TsnePanel(title=title, domain=domain, model_name=model_name, points=y[:n],
                     point_classes=sample_classes, proto_classes=proto_classes,
                     protos=proto_points, proto_labels=dict(proto_labels), cosines=cosines,
                     seconds=time.perf_counter() - start)


def default_highlight(classes: np.ndarray, num_classes: int) -> int:
    """The class with the most (non-ignored) pixels."""
    c = np.asarray(classes).reshape(-1)
    c = c[(c != IGNORE_INDEX) & (c >= 0) & (c < num_classes)]
    if c.size == 0:
        return 0
    return int(np.argmax(np.bincount(c, minlength=num_classes)))


def tsne_data(extraction, baseline=None, class_name=None, *, max_points: int = DEFAULT_MAX_POINTS,
              seed: int = 0, perplexity: float = DEFAULT_PERPLEXITY,
              backend: str = DEFAULT_BACKEND, domains: Sequence[str] = ('semantic', 'spatial'),
              n_jobs: int = 1) -> TsneData:
    """The panels of the t-SNE figure for one image.

    extraction: :class:`analysis.extract.Extraction` of the SSA-Seg model (a vanilla model
    works too: one semantic panel with its fixed prototypes). baseline: optional Extraction of
    the baseline on the same image, drawn first. class_name: name or index of the class to
    highlight (default: the class with most pixels in the SSA-Seg model's mask).
    Panels: [baseline semantic] + SSA semantic (F with S and Sp) + SSA spatial (Pf with P and Pp).
    """
    mask, source = extraction.mask()
    names = extraction.class_names
    if class_name is None:
        highlight = default_highlight(mask.numpy(), len(names))
    else:
        highlight = extraction.class_index(class_name)
    common = dict(max_points=max_points, seed=seed, perplexity=perplexity, backend=backend,
                  n_jobs=n_jobs)
    panels = []
    if baseline is not None:
        bmask, _ = baseline.mask()
        panels.append(tsne_panel(
            baseline.feat.numpy(), bmask.numpy(), {'fixed': baseline.fixed_protos.numpy()},
            {'fixed': 'fixed prototype S'}, highlight, title='Baseline: semantic',
            domain='semantic', model_name=baseline.model_name, **common))
    label = 'SSA-Seg' if extraction.is_ssa else 'Model'
    if 'semantic' in domains:
        protos = {'fixed': extraction.fixed_protos.numpy()}
        labels = {'fixed': 'fixed prototype S'}
        if extraction.is_ssa:
            protos['adapted'] = extraction.sem_protos.numpy()
            labels['adapted'] = 'adapted prototype Sp'
        panels.append(tsne_panel(extraction.feat.numpy(), mask.numpy(), protos, labels,
                                 highlight, title=f'{label}: semantic', domain='semantic',
                                 model_name=extraction.model_name, **common))
    if 'spatial' in domains and extraction.is_ssa:
        panels.append(tsne_panel(
            extraction.pos_feat.numpy(), mask.numpy(),
            {'fixed': extraction.pos_basis.numpy(), 'adapted': extraction.pos_protos.numpy()},
            {'fixed': 'position basis P', 'adapted': 'spatial prototype Pp'}, highlight,
            title=f'{label}: spatial', domain='spatial', model_name=extraction.model_name,
            **common))
    return TsneData(panels=panels, class_names=list(names), highlight=highlight, seed=seed,
                    perplexity=perplexity, backend=backend, max_points=max_points,
                    source=source, image_name=extraction.image_name)
