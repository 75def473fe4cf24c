"""Figure kind ``offsets`` (paper Fig. 6): classes whose adapted centre, without
distillation, moves away from the image's class features.

Over a set of labelled images, the shift metrics (:mod:`analysis.shift`, decision space:
``center_k`` against the class centroids of F + Pf) of SSA-Seg and of the ablation trained
without distillation. Per class (present with >= ``min_pixels`` pixels): the mean
``margin_center`` of each model, and the share of images where the centre is not nearest
its own class (``rank_center > 1``). The class that lost the most margin without
distillation (SSA-Seg's mean minus the ablation's) is the "worst"; on the image where the
ablation's margin for it is lowest, both models' t-SNE maps of the decision space are
drawn, and the ablation's prediction on that class's pixels says where they go (the paper:
wall pixels go to curtain).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from .. import style
from ..shift import MIN_PIXELS, prototype_shift
from ..tsne import TsneData, tsne_data
from ._registry import FigureKind, register_figure
from .paper import column_width, new_figure, page_height, short_name

ROLES = ('ablation', 'ssa')
ROLE_NAMES = {'ablation': 'w/o distillation', 'ssa': 'SSA-Seg'}


@dataclass
class ClassOffset:
    name: str
    class_index: int
    num_images: int
    margin: Dict[str, float]            # role -> mean margin_center over images
    off_rate: Dict[str, float]          # role -> share of images with rank_center > 1

    @property
    def lost(self) -> float:
        """Margin lost without distillation (SSA-Seg minus ablation)."""
        return self.margin['ssa'] - self.margin['ablation']


@dataclass
class OffsetsData:
    classes: List[ClassOffset]          # sorted: most margin lost first
    num_images: int
    worst: Optional[str] = None
    worst_image: str = ''
    goes_to: Dict[str, float] = field(default_factory=dict)   # ablation prediction shares
    tsne: Dict[str, TsneData] = field(default_factory=dict)   # role -> decision-space t-SNE
    models: Dict[str, str] = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        return {
            'num_images': self.num_images, 'models': self.models,
            'classes': [{'name': c.name, 'num_images': c.num_images,
                         'margin_center_ssa': c.margin['ssa'],
                         'margin_center_ablation': c.margin['ablation'],
                         'margin_lost': c.lost,
                         'off_rate_ssa': c.off_rate['ssa'],
                         'off_rate_ablation': c.off_rate['ablation']} for c in self.classes],
            'worst_class': self.worst, 'worst_image': self.worst_image,
            'worst_pixels_predicted_as_by_ablation': self.goes_to,
        }


def _rows(e, min_pixels):
    return {r.class_index: r for r in prototype_shift(
        e.feat, e.label, e.fixed_protos, adapted=e.sem_protos, centers=e.centers,
        pos_feat=e.pos_feat, class_names=e.class_names, min_pixels=min_pixels)
        if r.margin_center is not None}


def class_offsets(per_image: List[Dict[str, dict]], class_names) -> List[ClassOffset]:
    """Per-class means over images; ``per_image[i][role]`` = {class index: ShiftRow}. Only
    images where the class is listed for both models count."""
    out = []
    for k, name in enumerate(class_names):
        pairs = [(img['ablation'][k], img['ssa'][k]) for img in per_image
                 if k in img['ablation'] and k in img['ssa']]
        if not pairs:
            continue
        margin = {role: float(np.mean([p[i].margin_center for p in pairs]))
                  for i, role in enumerate(ROLES)}
        off = {role: float(np.mean([p[i].rank_center > 1 for p in pairs]))
               for i, role in enumerate(ROLES)}
        out.append(ClassOffset(name, k, len(pairs), margin, off))
    return sorted(out, key=lambda c: -c.lost)


def offsets_data(figure_set, min_pixels: int = MIN_PIXELS, max_points: int = 1500,
                 seed: int = 0, tsne: bool = True, **_) -> OffsetsData:
    n = len(figure_set.images) or len(figure_set.extractions.get('ssa') or [])
    per_image = []
    for i in range(n):
        ex = {role: figure_set.extraction(role, i) for role in ROLES}
        if any(e.label is None for e in ex.values()):
            raise ValueError('the offsets figure needs labelled images')
        per_image.append({role: _rows(e, min_pixels) for role, e in ex.items()})
    names = figure_set.extraction('ssa', 0).class_names
    classes = class_offsets(per_image, names)
    data = OffsetsData(classes=classes, num_images=n,
                       models={r: figure_set.model_name(r) for r in ROLES})
    if not classes:
        return data
    worst = classes[0]
    data.worst = worst.name
    margins = [(img['ablation'][worst.class_index].margin_center, i)
               for i, img in enumerate(per_image) if worst.class_index in img['ablation']]
    index = min(margins)[1]
    ablation = figure_set.extraction('ablation', index)
    data.worst_image = ablation.image_name
    pixels = ablation.label == worst.class_index
    predicted = np.bincount(ablation.pred[pixels].numpy(), minlength=len(names))
    total = max(int(predicted.sum()), 1)
    data.goes_to = {names[j]: float(predicted[j] / total)
                    for j in np.argsort(-predicted) if predicted[j] > 0}
    if tsne:
        for role in ROLES:
            data.tsne[role] = tsne_data(figure_set.extraction(role, index),
                                        class_name=worst.class_index, max_points=max_points,
                                        seed=seed, domains=('classifier',))
    return data


def caption(data: OffsetsData) -> str:
    if not data.classes:
        return 'No class is present in both models\' label masks.'
    w = data.classes[0]
    lost = [c for c in data.classes if c.lost > 0]
    away = [c for c in data.classes if c.margin['ablation'] < 0]
    goes = ', '.join(f'{k} {v:.0%}' for k, v in list(data.goes_to.items())[:3])
    # "Moves away": the worst class's centre is more often not nearest its own class
    # without distillation than with it (or its mean margin turns negative).
    holds = w.lost > 0 and (bool(away) or w.off_rate['ablation'] > w.off_rate['ssa'])
    return (f'Per class, mean margin of the adapted centre over the next class in the '
            f'decision space (F + Pf), over {data.num_images} labelled images, SSA-Seg '
            'against the ablation without distillation; t-SNE of the class that lost most, on '
            'the image where the ablation\'s margin is lowest. Paper (Fig. 6): without '
            'distillation some adapted prototypes move away from the class features (wall '
            f'pixels go to curtain). Here: {len(lost)} of {len(data.classes)} classes lose '
            f'margin without distillation; most: {w.name} ({w.margin["ssa"]:+.3f} -> '
            f'{w.margin["ablation"]:+.3f}; centre not nearest its class in '
            f'{w.off_rate["ablation"]:.0%} of images without, {w.off_rate["ssa"]:.0%} with); '
            f'{len(away)} classes have a negative mean margin without distillation. On '
            f'{data.worst_image}, the ablation predicts {w.name} pixels as: {goes}. The claim '
            f'{"holds" if holds else "does not hold"} here.'
            + (f' Drawn: the {style.MAX_CLASSES} of {len(data.classes)} classes that lose the '
               'most margin.' if len(data.classes) > style.MAX_CLASSES else ''))


ROW_IN = 0.14        # one class row of the margin panel


def offsets_matplotlib(data: OffsetsData, column=None):
    """The margins of the ``MAX_CLASSES`` classes that lost the most (most first) and the
    two t-SNE maps: in a row at two columns (natural), stacked at one column."""
    from .tsne import tsne_axes
    width = column_width(column, 'two')
    shown = data.classes[:style.MAX_CLASSES]
    strip = len(shown) * ROW_IN + 0.6
    one = width < style.DOUBLE_COLUMN
    maps = [role for role in ROLES if role in data.tsne]
    map_in = width / 2 + 0.5 if one else 0
    fig = new_figure(width, page_height(width, max(2.5, strip + map_in)))
    if one:
        grid = fig.add_gridspec(2 if maps else 1, 2,
                                height_ratios=[strip, map_in] if maps else None)
        ax, places = fig.add_subplot(grid[0, :]), [grid[1, j] for j in range(len(maps))]
    else:
        grid = fig.add_gridspec(1, 3, width_ratios=[1.2, 1, 1])
        ax, places = fig.add_subplot(grid[0, 0]), [grid[0, 1 + j] for j in range(len(maps))]
    _margin_panel(ax, shown, len(data.classes))
    for place, role in zip(places, maps):
        sub = fig.add_subplot(place)
        tsne_axes(sub, data.tsne[role], data.tsne[role].panels[0], narrow=one)
        sub.set_title(f'{ROLE_NAMES[role]}:' + ('\n' if one else ' ') + short_name(data.worst),
                      pad=2)
    return fig


def _margin_panel(ax, shown: List[ClassOffset], total: int) -> None:
    """Per class (most margin lost at the top), the mean margin of each model's centre."""
    y = np.arange(len(shown))[::-1]
    for role, color, marker in (('ablation', style.OKABE_ITO['sky_blue'], '^'),
                                ('ssa', style.ADAPTED, 's')):
        ax.scatter([c.margin[role] for c in shown], y, s=14, c=color, marker=marker,
                   label=ROLE_NAMES[role], linewidths=0, zorder=3)
    for yi, c in zip(y, shown):
        ax.plot([c.margin['ablation'], c.margin['ssa']], [yi, yi], color='#999999', lw=0.6)
    ax.axvline(0, color='#888888', lw=0.5, ls=':')
    ax.set_yticks(y, [short_name(c.name) for c in shown])
    ax.set_xlabel('mean margin of the centre (F + Pf)')
    if len(shown) < total:
        ax.set_title(f'{len(shown)} of {total} classes (most margin lost)', pad=2)
    ax.legend(frameon=False, loc='best', fontsize=style.MIN_FONT_SIZE)
    for side in ('top', 'right'):
        ax.spines[side].set_visible(False)


def offsets_plotly(data: OffsetsData):
    import plotly.graph_objects as go
    fig = go.Figure()
    names = [c.name for c in data.classes]
    for role, color in (('ablation', style.OKABE_ITO['sky_blue']), ('ssa', style.ADAPTED)):
        fig.add_trace(go.Scatter(
            x=[c.margin[role] for c in data.classes], y=names, mode='markers',
            name=ROLE_NAMES[role], marker=dict(size=11, color=color),
            customdata=[c.off_rate[role] for c in data.classes],
            hovertemplate='margin %{x:.3f}, not nearest in %{customdata:.0%} of images'
                          '<extra>%{y}</extra>'))
    fig.add_vline(x=0, line=dict(color='#888888', dash='dot', width=1))
    fig.update_yaxes(autorange='reversed', type='category')
    fig.update_layout(template='plotly_white', height=max(300, 120 + 26 * len(names)),
                      xaxis_title='mean margin of the adapted centre over the next class',
                      title=dict(text=f'Centre offsets without distillation (worst: '
                                      f'{data.worst})', x=0.5))
    return fig


KIND = register_figure(FigureKind(
    name='offsets', title='Prototype offsets without distillation (Fig. 6)', data=offsets_data,
    data_type=OffsetsData, plotly=offsets_plotly, matplotlib=offsets_matplotlib,
    to_json=OffsetsData.to_json_dict, level='set', roles=('ssa', 'ablation'), caption=caption))
