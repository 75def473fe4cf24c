"""Inter-class relation matrices R = row-softmax(t cos(X_i, X_j)) of S, Sp and S_hat (Fig. 3).

R is computed over all K classes with ``ssa_seg.classifier.relation_matrix`` (the function
the distillation loss uses) and only then restricted to the classes shown, so each value is
exactly the one the loss sees; rows of a restricted matrix need not sum to 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from .style import MAX_CLASSES

ClassSelection = Union[str, int, Sequence[Union[str, int]], None]


@dataclass
class RelationData:
    """Matrices over the shown classes, all in one class order.

    matrices: name -> n x n (names like 'fixed S', 'adapted Sp', 'teacher S_hat').
    classes: the n class ids in display order; class_names: their names.
    """
    matrices: Dict[str, np.ndarray]
    classes: List[int]
    class_names: List[str]
    order: str
    selection: str
    temperature: float
    image_name: str = ''
    model_name: str = ''
    scale: str = 'log'      # colour scale both renderers use: 'log' (floor 1e-4) or 'linear'
    # The default selection ('present'): the present classes, most pixels first, and how
    # many there are; a narrow paper figure shows the first of these that fit.
    ranked: Optional[List[int]] = None
    num_present: Optional[int] = None


def relation(protos: torch.Tensor, temperature: float) -> np.ndarray:
    from ssa_seg.classifier import relation_matrix
    with torch.no_grad():
        return relation_matrix(protos.detach().float(), temperature).cpu().numpy()


def select_classes(extraction, classes: ClassSelection = 'present') -> (List[int], str):
    """Which classes to show: 'present' (in the label/prediction at feature resolution; the
    :data:`~analysis.style.MAX_CLASSES` with most pixels when more are present, as the shift
    figure), 'all', an int k (the k classes with most pixels), or a list of names/indices."""
    k = extraction.num_classes
    if classes is None or (isinstance(classes, str) and classes == 'present'):
        ranked = extraction.present_classes()
        if len(ranked) > MAX_CLASSES:
            return sorted(ranked[:MAX_CLASSES]), f'top-{MAX_CLASSES} of {len(ranked)} present'
        return (sorted(ranked) or list(range(k))), 'present'
    if isinstance(classes, str) and classes == 'all':
        return list(range(k)), 'all'
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        if classes <= 0:
            raise ValueError(f'top-k needs k >= 1, got {classes}')
        ranked = extraction.present_classes()
        return sorted(ranked[:int(classes)]), f'top-{int(classes)}'
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(',') if c.strip()]
    ids = []
    for c in classes:
        i = extraction.class_index(c)
        if i not in ids:
            ids.append(i)
    return ids, 'list'


def cluster_order(protos: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering on cosine distance (optimal leaf ordering),
    so related classes sit next to each other. protos: n x C -> permutation of range(n)."""
    n = protos.shape[0]
    if n < 3:
        return np.arange(n)
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import pdist
    x = protos.astype(np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    dist = np.clip(pdist(x, 'cosine'), 0, None)
    tree = linkage(dist, method='average')
    return leaves_list(optimal_leaf_ordering(tree, dist))


SCALES = ('log', 'linear')
LOG_FLOOR = 1e-4


def relation_data(extraction, classes: ClassSelection = 'present', order: str = 'cluster',
                  temperature: Optional[float] = None, scale: str = 'log') -> RelationData:
    """R of the fixed prototypes S, the adapted Sp (SSA-Seg) and the teacher's S_hat (label
    given), restricted to ``classes`` (see :func:`select_classes`).

    order: 'cluster' (hierarchical-clustering leaf order of S, shared by every matrix so
    they can be compared cell by cell) or 'index' (class-id order).
    temperature: defaults to the model's (``extraction.temperature``: the SSA classifier's;
    the reference value 15 for a vanilla head, which has none).
    scale: colour scale of the figures. 'log' (default) because at temperature 15 the
    diagonal takes nearly all of each row: on a linear scale every matrix looks like the
    identity, on a log scale (values below 1e-4 clipped) the off-diagonal structure that
    the distillation acts on is visible.
    """
    if order not in ('cluster', 'index'):
        raise ValueError(f"order must be 'cluster' or 'index', got {order!r}")
    if scale not in SCALES:
        raise ValueError(f'scale must be one of {SCALES}, got {scale!r}')
    t = float(extraction.temperature if temperature is None else temperature)
    ids, selection = select_classes(extraction, classes)
    full = {'fixed S': relation(extraction.fixed_protos, t)}
    if extraction.sem_protos is not None:
        full['adapted Sp'] = relation(extraction.sem_protos, t)
    if extraction.teacher_sem_protos is not None:
        full['teacher S_hat'] = relation(extraction.teacher_sem_protos, t)
    ids = np.asarray(ids, dtype=np.int64)
    if order == 'cluster':
        ids = ids[cluster_order(extraction.fixed_protos.numpy()[ids])]
    mats = {name: m[np.ix_(ids, ids)] for name, m in full.items()}
    ranked = None
    if classes is None or (isinstance(classes, str) and classes == 'present'):
        ranked = extraction.present_classes() or None
    return RelationData(matrices=mats, classes=[int(i) for i in ids],
                        class_names=[extraction.class_names[i] for i in ids], order=order,
                        selection=selection, temperature=t, image_name=extraction.image_name,
                        model_name=extraction.model_name, scale=scale,
                        ranked=None if ranked is None else ranked[:len(ids)],
                        num_present=None if ranked is None else len(ranked))
