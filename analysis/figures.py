"""The analysis figures: compute the data once, draw it twice.

Public entry points (what the app and the CLI call); each returns a :class:`FigureBundle`
``(figure, data)``: an interactive plotly figure plus the data object it was drawn from.
Pass the data object to :func:`export_matplotlib` (PDF/SVG/PNG for papers) or
:func:`export_figure` (any supported suffix, ``.html`` = the plotly figure).

* :func:`tsne_figures`     t-SNE of pixel features with fixed and adapted prototypes
                           (semantic and spatial domain, baseline beside SSA-Seg)
* :func:`relation_figures` relation matrices of S, Sp and (with a label) S_hat
* :func:`shift_table`      per-class prototype shift numbers (cos to the class centroid)
"""
from __future__ import annotations

import json
import os
from typing import NamedTuple, Sequence, Tuple

import numpy as np

from . import style
from .paper import (PAPER_FORMATS, cos_caption, export_matplotlib,  # noqa: F401 (re-export)
                    legend_roles, matplotlib_figure)
from .relations import LOG_FLOOR, ClassSelection, RelationData, relation_data
from .shift import ShiftData, prototype_shift
from .tsne import (DEFAULT_BACKEND, DEFAULT_MAX_POINTS, DEFAULT_PERPLEXITY, EARLY_ITER,
                   FINAL_ITER, TsneData, tsne_data)

FORMATS = PAPER_FORMATS + ('html',)


class FigureBundle(NamedTuple):
    figure: object          # plotly.graph_objects.Figure
    data: object            # TsneData | RelationData | ShiftData


# --------------------------------------------------------------------------- public API

def tsne_figures(extraction, baseline=None, class_name=None, *,
                 max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
                 perplexity: float = DEFAULT_PERPLEXITY, backend: str = DEFAULT_BACKEND,
                 domains: Sequence[str] = ('semantic', 'spatial'),
                 iterations: Tuple[int, int] = (EARLY_ITER, FINAL_ITER),
                 n_jobs: int = 1) -> FigureBundle:
    """t-SNE panels for one image (see :func:`analysis.tsne.tsne_data` for the arguments).

    iterations: (exaggerated, normal) optimisation steps; the default keeps neighbourhoods
    as well as the classic (250, 500) within ~2% at a third of the time (bench/bench_tsne.py).
    """
    data = tsne_data(extraction, baseline, class_name, max_points=max_points, seed=seed,
                     perplexity=perplexity, backend=backend, domains=domains,
                     iterations=iterations, n_jobs=n_jobs)
    return FigureBundle(tsne_plotly(data), data)


def relation_figures(extraction, classes: ClassSelection = 'present', order: str = 'cluster',
                     scale: str = 'log') -> FigureBundle:
    """Relation matrices (see :func:`analysis.relations.relation_data`)."""
    data = relation_data(extraction, classes, order, scale=scale)
    return FigureBundle(relation_plotly(data), data)


def shift_data(extraction) -> ShiftData:
    """Per-class shift numbers of an :class:`~analysis.extract.Extraction`."""
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


# --------------------------------------------------------------------------- plotly

def tsne_plotly(data: TsneData):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    n = max(len(data.panels), 1)
    titles = [f'{p.title}<br><sup>{cos_caption(p)}</sup>' for p in data.panels]
    roles = legend_roles(data)
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles or None,
                        horizontal_spacing=0.04)
    hl, names = data.highlight, data.class_names
    legend_done = set()
    symbol = {'fixed': ('star', style.FIXED), 'adapted': ('star', style.ADAPTED)}
    for col, panel in enumerate(data.panels, start=1):
        pts, cls = panel.points, panel.point_classes
        for key, sel, color, size, label in (
                ('rest', cls != hl, style.REST, 4, 'other classes'),
                ('hl', cls == hl, style.HIGHLIGHT, 5, names[hl])):
            fig.add_trace(go.Scatter(
                x=pts[sel, 0], y=pts[sel, 1], mode='markers', name=label, legendgroup=key,
                showlegend=key not in legend_done and bool(sel.any()),
                marker=dict(size=size, color=color, opacity=0.7 if key == 'rest' else 0.9),
                text=[names[c] for c in cls[sel]],
                hovertemplate='%{text}<extra></extra>'), row=1, col=col)
            if sel.any():
                legend_done.add(key)
        for role, text in panel.proto_labels.items():
            p = panel.proto_point(role, hl)
            if p is None:
                continue
            sym, color = symbol.get(role, ('x', style.CENTER))
            cos = panel.cosines.get(role, float('nan'))
            fig.add_trace(go.Scatter(
                x=[p[0]], y=[p[1]], mode='markers', name=roles.get(role, text),
                legendgroup=role, showlegend=role not in legend_done,
                marker=dict(symbol=sym, size=20, color=color, line=dict(width=1, color='black')),
                hovertemplate=f'{text} of {names[hl]}<br>cos to class mean: {cos:.3f}'
                              '<extra></extra>'), row=1, col=col)
            legend_done.add(role)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for col in range(1, n + 1):
        fig.update_yaxes(scaleanchor=f'x{col if col > 1 else ""}', scaleratio=1, row=1, col=col)
    fig.update_layout(
        template='plotly_white', height=460, autosize=True,
        title=dict(text=f't-SNE of pixel features, class "{names[hl]}" highlighted '
                        f'({data.source} pixels, seed {data.seed})', x=0.5),
        legend=dict(orientation='h', yanchor='top', y=-0.02, xanchor='center', x=0.5),
        margin=dict(l=20, r=20, t=90, b=40))
    return fig


def relation_plotly(data: RelationData):
    """Heatmaps side by side; stacked (one per row, full width) beyond 40 classes so that
    every class keeps a readable row (>= 8 px) and its name; hover gives exact values."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    from .paper import _matrix_title
    names = list(data.matrices)
    m, n = max(len(names), 1), len(data.classes)
    stacked = n > 40 and m > 1
    rows, cols = (m, 1) if stacked else (1, m)
    cell = int(np.clip(600 / max(n, 1), 8, 40))
    side = cell * n
    label_px = 7 * max((len(s) for s in data.class_names), default=4)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_matrix_title(k) for k in names],
                        horizontal_spacing=0.05,
                        vertical_spacing=min(0.3, (label_px + 60) / (rows * (side + label_px + 60)))
                        if stacked else 0.05)
    vmax = max((float(v.max()) for v in data.matrices.values()), default=1.0)
    labels = data.class_names
    log_scale = data.scale == 'log'
    positions = [((i + 1, 1) if stacked else (1, i + 1)) for i in range(len(names))]
    for (row, col), name in zip(positions, names):
        mat = data.matrices[name]
        z = np.log10(np.maximum(mat, LOG_FLOOR)) if log_scale else mat
        fig.add_trace(go.Heatmap(
            z=z, x=labels, y=labels, coloraxis='coloraxis', customdata=mat,
            hovertemplate='row %{y} → col %{x}<br>R = %{customdata:.4f}<extra>'
                          + _matrix_title(name) + '</extra>'), row=row, col=col)
    tick_font = int(np.clip(600 / max(n, 1), 7, 12))
    every = dict(type='category', tickmode='linear', tick0=0, dtick=1,   # label every class
                 tickfont=dict(size=tick_font))
    fig.update_xaxes(tickangle=-90, **every)
    fig.update_yaxes(autorange='reversed', **every)
    for i, (row, col) in enumerate(positions):
        if not stacked and col > 1:
            fig.update_yaxes(showticklabels=False, row=row, col=col)
        axis = i + 1
        fig.update_yaxes(scaleanchor=f'x{axis if axis > 1 else ""}', scaleratio=1,
                         row=row, col=col)
    colorbar = dict(title='R (log)' if log_scale else 'R', lenmode='pixels',
                    len=min(side, 400), y=1, yanchor='top')
    if log_scale:
        exps = np.arange(int(np.log10(LOG_FLOOR)), 1)
        colorbar.update(tickvals=exps, ticktext=[f'1e{e}' if e < 0 else '1' for e in exps])
    fig.update_layout(
        template='plotly_white',
        coloraxis=dict(colorscale=style.PLOTLY_SEQUENTIAL, colorbar=colorbar,
                       cmin=np.log10(LOG_FLOOR) if log_scale else 0,
                       cmax=np.log10(max(vmax, LOG_FLOOR)) if log_scale else vmax),
        autosize=True, height=int(rows * (side + label_px + 60) + 60),
        title=dict(text=f'Inter-class relation R = softmax({data.temperature:g}·cos) — '
                        f'{data.selection} classes, {data.order} order', x=0.5),
        margin=dict(l=20, r=20, t=70, b=20))
    return fig


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


def plotly_figure(data, **kwargs):
    """The interactive figure for any analysis data object."""
    if isinstance(data, TsneData):
        return tsne_plotly(data)
    if isinstance(data, RelationData):
        return relation_plotly(data)
    if isinstance(data, ShiftData):
        return shift_plotly(data)
    raise TypeError(f'no plotly renderer for {type(data).__name__}')


# --------------------------------------------------------------------------- export

def export_figure(data, path, figure=None, **kwargs) -> str:
    """Write ``data`` to ``path``; the suffix picks the renderer and format:
    .pdf/.svg/.png -> matplotlib (paper), .html -> plotly (self-contained, works offline),
    .json -> the numbers (shift data only). ``figure``: an already built plotly figure."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip('.').lower()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if fmt == 'html':
        fig = figure if figure is not None else plotly_figure(data, **kwargs)
        # plotly.js is embedded: the file must open without network access.
        fig.write_html(path, include_plotlyjs=True, full_html=True)
        return path
    if fmt == 'json':
        if not isinstance(data, ShiftData):
            raise ValueError('.json output is available for shift data only')
        write_shift_json(data, path)
        return path
    if fmt in PAPER_FORMATS:
        return export_matplotlib(data, path, **kwargs)
    raise ValueError(f'unsupported output format {fmt!r} for {path}; use one of '
                     f'{", ".join("." + f for f in FORMATS)}')


def write_shift_json(data: ShiftData, path) -> str:
    with open(path, 'w', encoding='utf-8') as fh:
        json.dump(data.to_json_dict(), fh, indent=2)
        fh.write('\n')
    return os.fspath(path)
