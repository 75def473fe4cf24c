"""Figure kind ``shift``: per class, is the prototype nearest its own class's pixels in the
space where its classifier decides? Cosine to the class centroid, and the margin over the
next class with the rank of the own class (1 = nearest).

Data: :func:`shift_data` (numbers from :func:`analysis.shift.prototype_shift`); renderers:
:func:`shift_plotly`, :func:`shift_matplotlib`; ``.json`` export of the numbers.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .. import style
from ..shift import MIN_PIXELS, ShiftData, prototype_shift, select_rows
from ._registry import FigureBundle, FigureKind, FigureOption, register_figure
from .paper import column_width, new_figure, page_height, short_name

# (label, cosine attribute, margin attribute, rank attribute, marker, colour)
SERIES = (('S in F', 'cos_fixed', 'margin_fixed', 'rank_fixed', 'o', style.FIXED),
          ('Sp in F (literal)', 'cos_adapted', None, None, 'D', style.ADAPTED),
          ('centre in F+Pf', 'cos_center', 'margin_center', 'rank_center', 's', style.CENTER))
PLOTLY_SYMBOL = {'o': 'circle', 'D': 'diamond', 's': 'square'}


def shift_data(extraction, baseline=None, class_name=None, min_pixels: int = MIN_PIXELS,
               max_classes: Optional[int] = style.MAX_CLASSES,
               shift_classes: Sequence[str] = ()) -> ShiftData:
    """Per-class shift numbers of an :class:`~analysis.extract.Extraction`: of the classes
    with at least ``min_pixels`` pixels, the ``shift_classes`` named, else the
    ``max_classes`` with the most pixels (None: all). Margins and ranks are taken among all
    classes with ``min_pixels``, whichever are shown. ``baseline`` and ``class_name`` do not
    change this figure."""
    mask, source = extraction.mask()
    rows = prototype_shift(extraction.feat, mask, extraction.fixed_protos,
                           adapted=extraction.sem_protos, centers=extraction.centers,
                           pos_feat=extraction.pos_feat, class_names=extraction.class_names,
                           min_pixels=min_pixels)
    shown, selection = select_rows(rows, max_classes, shift_classes)
    return ShiftData(rows=shown, source=source, model_name=extraction.model_name,
                     image_name=extraction.image_name, min_pixels=min_pixels,
                     num_listed=len(rows), selection=selection)


def shift_table(extraction) -> FigureBundle:
    """Prototype-shift numbers (``data.rows``, ``data.to_json_dict()``) and their chart."""
    data = shift_data(extraction)
    return FigureBundle(shift_plotly(data), data)


def _series(rows):
    """The series that have values in ``rows``."""
    return [s for s in SERIES if any(getattr(r, s[1]) is not None for r in rows)]


def shift_plotly(data: ShiftData):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    rows = data.rows
    labels = [f'{r.name} ({r.num_pixels})' for r in rows]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=('cosine to own class centroid',
                                        'margin over the next class (rank)'))
    for name, cos_attr, margin_attr, rank_attr, marker, color in _series(rows):
        keep = [i for i, r in enumerate(rows) if getattr(r, cos_attr) is not None]
        sym = PLOTLY_SYMBOL[marker]
        fig.add_trace(go.Scatter(
            x=[getattr(rows[i], cos_attr) for i in keep], y=[labels[i] for i in keep],
            mode='markers', name=name, legendgroup=name,
            marker=dict(symbol=sym, size=11, color=color),
            hovertemplate=f'{name}: ' + 'cos %{x:.3f}<extra>%{y}</extra>'), row=1, col=1)
        if margin_attr is None:
            continue
        keep = [i for i in keep if getattr(rows[i], margin_attr) is not None]
        fig.add_trace(go.Scatter(
            x=[getattr(rows[i], margin_attr) for i in keep], y=[labels[i] for i in keep],
            mode='markers+text', name=name, legendgroup=name, showlegend=False,
            text=[f'#{getattr(rows[i], rank_attr)}' for i in keep], textposition='middle right',
            marker=dict(symbol=sym, size=11, color=color),
            hovertemplate=f'{name}: ' + 'margin %{x:.3f}, rank %{text}<extra>%{y}</extra>'),
            row=1, col=2)
    fig.add_vline(x=0, line=dict(color='#888888', width=1, dash='dot'), row=1, col=2)
    fig.update_yaxes(autorange='reversed', type='category')
    fig.update_layout(
        template='plotly_white', height=max(280, 150 + 26 * len(rows)), autosize=True,
        title=dict(text='Is each prototype nearest its own class, where its classifier '
                        f'decides? ({data.source} pixels, classes with >= {data.min_pixels}; '
                        f'{shown_note(data)})',
                   x=0.5),
        legend=dict(orientation='h', yanchor='bottom', y=1.06, xanchor='center', x=0.5),
        margin=dict(l=20, r=20, t=100, b=40))
    return fig


def shift_matplotlib(data, column=None):
    """Two panels sharing the class axis: cosine of each prototype to its own class centroid
    (S in F, Sp in F taken literally, the SSA centre in F + Pf), and the margin over the
    nearest other class with the rank of the own class written beside each marker.
    Natural width: one column (at two, the same panels, wider)."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator
    rows = data.rows
    n = max(len(rows), 1)
    width = column_width(column, 'one')
    fig = new_figure(width, page_height(width, 0.8 + 0.17 * n))
    ax_cos, ax_margin = fig.subplots(1, 2, sharey=True)
    # room between the panels, so the end numbers of the two x axes do not touch
    fig.get_layout_engine().set(wspace=0.12)
    y = np.arange(len(rows))[::-1]
    handles = []
    series = _series(rows)
    offsets = np.linspace(-0.15, 0.15, len(series)) if len(series) > 1 else [0.0]
    for (name, cos_attr, margin_attr, rank_attr, marker, color), dy in zip(series, offsets):
        has = [(yi, r) for yi, r in zip(y, rows) if getattr(r, cos_attr) is not None]
        ax_cos.scatter([getattr(r, cos_attr) for _, r in has], [yi + dy for yi, _ in has],
                       s=16, marker=marker, c=color, linewidths=0, zorder=3)
        handles.append(Line2D([], [], ls='', marker=marker, ms=4, mfc=color, mec='none',
                              label=name))
        if margin_attr is None:
            continue
        has = [(yi, r) for yi, r in has if getattr(r, margin_attr) is not None]
        xs = [getattr(r, margin_attr) for _, r in has]
        ax_margin.scatter(xs, [yi + dy for yi, _ in has], s=16, marker=marker, c=color,
                          linewidths=0, zorder=3)
        for x, (yi, r) in zip(xs, has):
            ax_margin.annotate(f'{getattr(r, rank_attr)}', (x, yi + dy), xytext=(3, 0),
                               textcoords='offset points', va='center',
                               fontsize=style.MIN_FONT_SIZE, color=color)
    ax_margin.axvline(0, color='#888888', lw=0.5, ls=':')
    ax_cos.set_yticks(y, [f'{short_name(r.name)} ({r.num_pixels})' for r in rows])
    ax_cos.set_xlabel('cos to own centroid')
    ax_margin.set_xlabel('margin (rank)')
    for ax in (ax_cos, ax_margin):
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if width < 5 else 6))  # what fits
        ax.grid(axis='x', lw=0.3, color='#dddddd')
        ax.set_axisbelow(True)
        for side in ('top', 'right'):
            ax.spines[side].set_visible(False)
    fig.legend(handles=handles, loc='outside upper center', ncol=len(handles), frameon=False,
               handletextpad=0.2, columnspacing=0.8)
    return fig


def _class_list(text: str) -> tuple:
    """``'wall, bed'`` -> ``('wall', 'bed')`` (empty: the top classes by pixels)."""
    return tuple(n.strip() for n in str(text).split(',') if n.strip())


def _check_class_list(value: tuple, class_names) -> tuple:
    """The named classes as the model spells them (KeyError names an unknown one)."""
    from ..extract import class_index
    return tuple(class_names[class_index(class_names, n)] for n in value)


OPTIONS = (
    FigureOption('min_pixels', int, MIN_PIXELS, minimum=1,
                 help=f'shift: list classes with at least this many feature-resolution '
                      f'pixels (default {MIN_PIXELS})'),
    FigureOption('max_classes', int, style.MAX_CLASSES, minimum=1,
                 help=f'shift: show the classes with the most pixels, at most this many '
                      f'(default {style.MAX_CLASSES})'),
    FigureOption('shift_classes', str, '', parse=_class_list, with_classes=_check_class_list,
                 metavar='NAMES',
                 help='shift: comma-separated class names to show instead of the top classes'),
)


def shown_note(data: ShiftData) -> str:
    """``'20 of 90 classes shown'`` (how many of the listed classes the figure draws)."""
    return f'{len(data.rows)} of {data.num_candidates} classes shown'


def caption(data: ShiftData) -> str:
    """The paper report's caption (what each marker is, where the SSA logits are computed)."""
    chosen = {'all': 'all listed', 'named': 'the classes named'}.get(
        data.selection, 'those with the most pixels')
    return (f'{shown_note(data)} ({chosen}; margins and ranks among all '
            f'{data.num_candidates}). '
            f'Per class of this image ({data.source} pixels, >= {data.min_pixels} at feature '
            'resolution), cosine '
            'of each prototype to its own class centroid, and its margin over the next '
            'class with the rank of the own class (1 = nearest): S in F, Sp in F taken '
            'literally (an MLP output, not placed in F\'s space), and the SSA centre in '
            'F + Pf, where the SSA logits are computed.')


KIND = register_figure(FigureKind(
    name='shift', title='Prototype shift', data=shift_data, data_type=ShiftData,
    plotly=shift_plotly, matplotlib=shift_matplotlib, to_json=ShiftData.to_json_dict,
    options=OPTIONS, caption=caption))
