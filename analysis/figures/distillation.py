"""Figure kind ``distillation`` (paper Fig. 3): inter-class relation matrices
``R = row-softmax(t cos)`` of the adapted prototypes Sp and of the teacher's S_hat, without
and with semantic-domain distillation, averaged over a set of labelled images.

"Without" is the ablation model trained without distillation (no teacher at all): it has no
trained teacher, so its right-hand panel is R of what the teacher would have started from,
the label's class means of F (absent classes: S, as in
:func:`ssa_seg.classifier.ground_truth_centers`). "With" is the SSA-Seg model and its
teacher's S_hat. One number per panel: the mean off-diagonal mass of R (mean over rows i
of the sum over j != i of R_ij), over all K classes, which is what the distillation loss
pushes down.

Data: :func:`distillation_data` on a :class:`~analysis.figureset.FigureSet` with the
``'ssa'`` and ``'ablation'`` roles; renderers: plotly and matplotlib; ``.json`` numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch

from .. import style
from ..relations import LOG_FLOOR, relation
from ._registry import FigureKind, FigureOption, register_figure
from .matrix_grid import TITLE_IN, draw_matrices, label_inches, matrix_layout, trimmed
from .paper import column_width

PANELS = ('Sp without', 'teacher without', 'Sp with', 'S_hat with')
PANEL_SHORT = {'Sp without': 'R(Sp), no distil.', 'teacher without': 'R(F means), no teacher',
               'Sp with': 'R(Sp), distilled', 'S_hat with': 'R(Ŝ), teacher'}
PANEL_TITLES = {'Sp without': 'R(Sp), no distillation',
                'teacher without': 'R(class means of F), no teacher',
                'Sp with': 'R(Sp), with distillation',
                'S_hat with': 'R(Ŝ), teacher'}


@dataclass
class DistillationData:
    """Mean relation matrices per panel over the shown classes (n x n, rows and columns in
    ``classes`` order), and their off-diagonal mass over all K classes.

    classes: the shown class ids (cluster order of S, as the relation figure); ranked: the
    same ids, most label pixels over the images first; num_present: classes in the labels.
    """
    matrices: Dict[str, np.ndarray]
    off_diagonal: Dict[str, float]
    class_names: List[str]
    num_images: int
    temperature: float
    models: Dict[str, str] = field(default_factory=dict)
    classes: Optional[List[int]] = None
    ranked: Optional[List[int]] = None
    num_present: Optional[int] = None

    @property
    def holds(self) -> bool:
        """The paper's claim on these numbers: distillation lowers Sp's off-diagonal mass,
        and Sp with distillation is about as separable as S_hat (within a factor 2)."""
        m = self.off_diagonal
        return (m['Sp with'] < m['Sp without']
                and m['Sp with'] <= 2 * max(m['S_hat with'], 1e-12))

    def to_json_dict(self) -> dict:
        return {'num_images': self.num_images, 'temperature': self.temperature,
                'models': self.models, 'off_diagonal_mass': self.off_diagonal,
                'claim_holds': self.holds}


def off_diagonal_mass(r: np.ndarray) -> float:
    """Mean over rows i of the sum over j != i of R_ij (R: ... x K x K, rows summing to 1)."""
    r = np.asarray(r, dtype=np.float64)
    return float((r.sum(-1) - np.diagonal(r, axis1=-2, axis2=-1)).mean())


def _class_means(extraction) -> torch.Tensor:
    """The teacher's semantic input for one image: label class means of F, S where absent."""
    from ssa_seg.classifier import ground_truth_centers
    feat, pos = extraction.feat[None].float(), extraction.pos_feat[None].float()
    sem, _ = ground_truth_centers(feat, pos, extraction.label[None].long(),
                                  extraction.fixed_protos.float(), extraction.pos_basis.float())
    return sem


def shown_classes(extractions, max_classes: Optional[int]) -> (List[int], List[int], int):
    """(shown ids in the cluster order of S, the same most pixels first, classes present):
    the ``max_classes`` classes with most label pixels over the images (ties: lower index),
    the rule of the per-image shift and relation figures; all present when None."""
    from ..relations import cluster_order
    counts = sum(np.bincount(e.label[e.label != 255].numpy(), minlength=e.num_classes)
                 for e in extractions)
    ranked = [int(k) for k in np.argsort(-counts, kind='stable') if counts[k] > 0]
    top = np.asarray(ranked[:max_classes] if max_classes else ranked, dtype=np.int64)
    order = top[cluster_order(extractions[0].fixed_protos.numpy()[top])] if len(top) else top
    return [int(k) for k in order], [int(k) for k in top], len(ranked)


def distillation_data(figure_set, max_classes: Optional[int] = style.MAX_CLASSES,
                      **_) -> DistillationData:
    """Mean R per panel over the set's images (which need labels), drawn for the
    ``max_classes`` classes with most label pixels (:func:`shown_classes`); the
    off-diagonal masses are over all classes."""
    sums: Dict[str, np.ndarray] = {}
    count = 0
    t = None
    for role, with_distillation in (('ablation', False), ('ssa', True)):
        for e in figure_set.all_extractions(role):
            if e.label is None or e.sem_protos is None:
                raise ValueError('the distillation figure needs SSA-Seg models and labelled '
                                 f'images ({e.image_name or "an image"} has no label)')
            t = e.temperature
            if with_distillation:
                pair = {'Sp with': e.sem_protos, 'S_hat with': e.teacher_sem_protos}
                count += 1
            else:
                pair = {'Sp without': e.sem_protos, 'teacher without': _class_means(e)}
            for name, protos in pair.items():
                sums[name] = sums.get(name, 0) + relation(protos, t)
    mats = {name: sums[name] / max(count, 1) for name in PANELS}
    extractions = figure_set.all_extractions('ssa')
    shown, ranked, present = shown_classes(extractions, max_classes)
    return DistillationData(
        matrices={n: m[np.ix_(shown, shown)] for n, m in mats.items()},
        off_diagonal={n: off_diagonal_mass(m) for n, m in mats.items()},
        class_names=[extractions[0].class_names[k] for k in shown], num_images=count,
        temperature=float(t), models={r: figure_set.model_name(r) for r in ('ablation', 'ssa')},
        classes=shown, ranked=ranked, num_present=present)


def caption(data: DistillationData) -> str:
    m = data.off_diagonal
    verdict = 'holds here' if data.holds else 'does not hold here'
    return (f'Inter-class relation R = row-softmax({data.temperature:g} cos) of the adapted '
            f'prototypes Sp and of the teacher, averaged over {data.num_images} labelled '
            'images, without distillation (the ablation trained with no teacher; its right '
            'panel is R of the label class means of F, the teacher\'s input) and with it '
            '(SSA-Seg and its teacher Ŝ). Number: mean off-diagonal mass of R. Paper (Fig. 3): '
            'after distillation Sp is about as separable as Ŝ. Here: Sp '
            f'{m["Sp without"]:.3f} without, {m["Sp with"]:.3f} with; Ŝ {m["S_hat with"]:.3f}; '
            f'class means of F {m["teacher without"]:.3f}. The claim (Sp with < Sp without, '
            f'and within 2x of Ŝ) {verdict}.' + shown_note(data))


def shown_note(data: DistillationData) -> str:
    """' Drawn: 20 of 90 classes ...' when the matrices show a subset of the classes."""
    if data.num_present is None or len(data.class_names) >= data.num_present:
        return ''
    return (f' Drawn: {len(data.class_names)} of the {data.num_present} classes in the '
            'labels, those with most pixels (the masses are over all classes).')


def distillation_matplotlib(data: DistillationData, column=None):
    """The four matrices at ``column`` width (natural: two columns, a 2 x 2 grid; at one
    column stacked, showing the classes with most pixels that keep a 6 pt name)."""
    from matplotlib.colors import LogNorm
    width = column_width(column, 'two')
    n = len(data.class_names)
    layout = matrix_layout(n, len(PANELS), width, label_inches(data.class_names),
                           title_in=2 * TITLE_IN)
    classes = data.classes if data.classes is not None else list(range(n))
    keep = trimmed(classes, data.ranked, layout.shown)
    vmax = max(float(m.max()) for m in data.matrices.values())
    norm = LogNorm(vmin=LOG_FLOOR, vmax=max(vmax, 10 * LOG_FLOOR))
    short = layout.side < 1.6            # a title wider than its matrix would collide
    panels = [(f'{PANEL_SHORT[name]}\noff-diag. {data.off_diagonal[name]:.3f}' if short else
               f'{PANEL_TITLES[name]}\noff-diagonal mass {data.off_diagonal[name]:.3f}',
               np.maximum(data.matrices[name][np.ix_(keep, keep)], LOG_FLOOR))
              for name in PANELS]
    total = data.num_present or n
    title = f'{len(keep)} of {total} classes (most label pixels)' if len(keep) < total else ''
    return draw_matrices(layout, panels, [data.class_names[i] for i in keep], norm,
                         'relation R (log)', title)


def distillation_plotly(data: DistillationData):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    titles = [f'{PANEL_TITLES[n]}<br><sup>off-diagonal mass {data.off_diagonal[n]:.3f}</sup>'
              for n in PANELS]
    fig = make_subplots(rows=1, cols=4, subplot_titles=titles, horizontal_spacing=0.03)
    for col, name in enumerate(PANELS, start=1):
        mat = data.matrices[name]
        fig.add_trace(go.Heatmap(
            z=np.log10(np.maximum(mat, LOG_FLOOR)), x=data.class_names, y=data.class_names,
            customdata=mat, coloraxis='coloraxis',
            hovertemplate='%{y} → %{x}: R = %{customdata:.4f}<extra></extra>'), row=1, col=col)
    fig.update_yaxes(autorange='reversed')
    exps = np.arange(int(np.log10(LOG_FLOOR)), 1)
    fig.update_layout(
        template='plotly_white', height=420, autosize=True,
        coloraxis=dict(colorscale=style.PLOTLY_SEQUENTIAL, cmin=np.log10(LOG_FLOOR), cmax=0,
                       colorbar=dict(title='R (log)', tickvals=exps,
                                     ticktext=[f'1e{e}' if e < 0 else '1' for e in exps])),
        title=dict(text=f'Relation matrices without / with distillation '
                        f'(mean of {data.num_images} images)', x=0.5),
        margin=dict(l=20, r=20, t=110, b=20))
    return fig


KIND = register_figure(FigureKind(
    name='distillation', title='Relations without / with distillation (Fig. 3)',
    data=distillation_data, data_type=DistillationData, plotly=distillation_plotly,
    matplotlib=distillation_matplotlib, to_json=DistillationData.to_json_dict, level='set',
    roles=('ssa', 'ablation'), caption=caption, options=(
        FigureOption('max_classes', int, style.MAX_CLASSES, minimum=1,
                     help='distillation: draw the classes with the most label pixels over '
                          f'the images, at most this many (default {style.MAX_CLASSES}; the '
                          'numbers are over all classes)'),)))
