"""Figure kind ``shift``: per class, the cosine of the fixed and the adapted prototype to the
class centroid of this image's pixel features (is the adapted prototype nearer?).

Data: :func:`shift_data` (numbers from :func:`analysis.shift.prototype_shift`); renderers:
:func:`shift_plotly`, :func:`shift_matplotlib`; ``.json`` export of the numbers.
"""
from __future__ import annotations

import numpy as np

from .. import style
from ..shift import ShiftData, prototype_shift
from . import FigureBundle, FigureKind, register_figure
from .paper import new_figure


def shift_data(extraction, baseline=None, class_name=None) -> ShiftData:
    """Per-class shift numbers of an :class:`~analysis.extract.Extraction` (every class
    present; ``baseline`` and ``class_name`` do not change this figure)."""
    mask, source = extraction.mask()
    rows = prototype_shift(extraction.feat, mask, extraction.fixed_protos,
                           adapted=extraction.sem_protos, centers=extraction.centers,
                           pos_feat=extraction.pos_feat, class_names=extraction.class_names)
    return ShiftData(rows=rows, source=source, model_name=extraction.model_name,
                     image_name=extraction.image_name)


def shift_table(extraction) -> FigureBundle:
    """Prototype-shift numbers (``data.rows``, ``data.to_json_dict()``) and their chart."""
    data = shift_data(extraction)
    return FigureBundle(shift_plotly(data), data)


def shift_plotly(data: ShiftData):
    import plotly.graph_objects as go
    rows = data.rows
    labels = [f'{r.name} ({r.num_pixels})' for r in rows]
    fig = go.Figure()
    for r, lab in zip(rows, labels):
        if r.cos_adapted is not None:
            fig.add_trace(go.Scatter(x=[r.cos_fixed, r.cos_adapted], y=[lab, lab], mode='lines',
                                     line=dict(color='#999999', width=2), showlegend=False,
                                     hoverinfo='skip'))
    series = [('fixed S', 'cos_fixed', 'circle', style.FIXED),
              ('adapted Sp', 'cos_adapted', 'diamond', style.ADAPTED),
              ('final center', 'cos_center', 'square-open', style.CENTER)]
    for name, attr, sym, color in series:
        vals = [getattr(r, attr) for r in rows]
        if all(v is None for v in vals):
            continue
        keep = [i for i, v in enumerate(vals) if v is not None]
        fig.add_trace(go.Scatter(
            x=[vals[i] for i in keep], y=[labels[i] for i in keep], mode='markers', name=name,
            marker=dict(symbol=sym, size=11, color=color, line=dict(width=1.5, color=color)),
            hovertemplate=f'{name}: ' + '%{x:.3f}<extra>%{y}</extra>'))
    fig.update_yaxes(autorange='reversed', type='category')
    fig.update_layout(
        template='plotly_white', height=max(260, 140 + 26 * len(rows)), autosize=True,
        xaxis_title=f'cosine to the class centroid ({data.source} pixels)',
        title=dict(text='Prototype shift: is the adapted prototype nearer this image\'s pixels?',
                   x=0.5),
        legend=dict(orientation='h', yanchor='bottom', y=1.0, xanchor='center', x=0.5),
        margin=dict(l=20, r=20, t=80, b=40))
    return fig


def shift_matplotlib(data):
    """Dumbbell chart: per class, cos to its pixel centroid of S -> Sp (and the final center)."""
    from matplotlib.lines import Line2D
    rows = data.rows
    n = max(len(rows), 1)
    fig = new_figure(style.SINGLE_COLUMN, 0.55 + 0.16 * n)
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows):
        if r.cos_adapted is not None:
            ax.plot([r.cos_fixed, r.cos_adapted], [yi, yi], color='#999999', lw=0.8, zorder=1)
    ax.scatter([r.cos_fixed for r in rows], y, s=14, c=style.FIXED, zorder=3, linewidths=0)
    handles = [Line2D([], [], ls='', marker='o', ms=4, mfc=style.FIXED, mec='none',
                      label='fixed S')]
    if any(r.cos_adapted is not None for r in rows):
        ya = [yi for yi, r in zip(y, rows) if r.cos_adapted is not None]
        ax.scatter([r.cos_adapted for r in rows if r.cos_adapted is not None], ya, s=26,
                   marker='D', c=style.ADAPTED, zorder=4, linewidths=0)
        handles.append(Line2D([], [], ls='', marker='D', ms=4, mfc=style.ADAPTED, mec='none',
                              label='adapted Sp'))
    if any(r.cos_center is not None for r in rows):
        yc = [yi for yi, r in zip(y, rows) if r.cos_center is not None]
        ax.scatter([r.cos_center for r in rows if r.cos_center is not None], yc, s=18,
                   marker='s', facecolors='none', edgecolors=style.CENTER, linewidths=0.8,
                   zorder=4)
        handles.append(Line2D([], [], ls='', marker='s', ms=4, mfc='none', mec=style.CENTER,
                              label='final center'))
    ax.set_yticks(y, [f'{r.name} ({r.num_pixels})' for r in rows])
    ax.set_xlabel(f'cosine to the class centroid ({data.source} pixels)')
    ax.grid(axis='x', lw=0.3, color='#dddddd')
    ax.set_axisbelow(True)
    for side in ('top', 'right'):
        ax.spines[side].set_visible(False)
    fig.legend(handles=handles, loc='outside upper center', ncol=len(handles), frameon=False,
               handletextpad=0.2, columnspacing=0.8)
    return fig



KIND = register_figure(FigureKind(
    name='shift', title='Prototype shift', data=shift_data, data_type=ShiftData,
    plotly=shift_plotly, matplotlib=shift_matplotlib, to_json=ShiftData.to_json_dict))
