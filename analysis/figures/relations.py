"""Figure kind ``relations``: inter-class relation matrices R of S, Sp and S_hat (paper Fig. 3).

Data: :func:`analysis.relations.relation_data`; renderers: :func:`relation_plotly`,
:func:`relation_matplotlib`.
"""
from __future__ import annotations

import numpy as np

from .. import style
from ..relations import LOG_FLOOR, SCALES, ClassSelection, RelationData, relation_data
from ._registry import FigureBundle, FigureKind, FigureOption, register_figure
from .matrix_grid import draw_matrices, label_inches, matrix_layout, trimmed
from .paper import column_width, new_figure


def relation_figures(extraction, classes: ClassSelection = 'present', order: str = 'cluster',
                     scale: str = 'log') -> FigureBundle:
    """Relation matrices (see :func:`analysis.relations.relation_data`)."""
    data = relation_data(extraction, classes, order, scale=scale)
    return FigureBundle(relation_plotly(data), data)


def relation_plotly(data: RelationData):
    """Heatmaps side by side; stacked (one per row, full width) beyond 40 classes so that
    every class keeps a readable row (>= 8 px) and its name; hover gives exact values."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
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


MIN_CELL_IN = 0.06     # ~4 pt labels: the smallest that stays legible in a zoomed vector file

MAX_CELL_IN = 0.16

def relation_cell_inches(n: int) -> float:
    """Upper bound on the side of one matrix cell for n classes (large for a few classes,
    ``MIN_CELL_IN`` for 150)."""
    return float(min(MAX_CELL_IN, max(MIN_CELL_IN, 2.2 / max(n, 1))))

def relation_layout(n: int, m: int, max_chars: int):
    """(rows, cols, matrix side in inches, label font size) for m matrices of n classes.

    Side by side within the page width (3.4 in for one matrix, 7 in otherwise) while the
    cells stay >= ``MIN_CELL_IN``; else stacked, and only when even one matrix per row
    would be too small does the figure grow beyond the page (150 classes: zoom the PDF/SVG,
    or pick a top-k subset).
    """
    page = style.SINGLE_COLUMN if m <= 1 else style.DOUBLE_COLUMN
    colorbar = 0.75

    def fit(cols):
        side = relation_cell_inches(n) * n
        for _ in range(3):   # label room depends on font size, which depends on the side
            font = min(style.FONT_SIZE - 1, side / n * 72 * 0.85)
            label_in = max_chars * font * 0.55 / 72 + 0.12
            side = min(relation_cell_inches(n) * n, (page - label_in - colorbar) / cols)
        return side, min(style.FONT_SIZE - 1, side / n * 72 * 0.85)

    side, font = fit(m)
    if side / n >= MIN_CELL_IN or m == 1:
        rows, cols = 1, m
    else:
        rows, cols = m, 1
        side, font = fit(1)
    if side / n < MIN_CELL_IN:
        side, font = MIN_CELL_IN * n, MIN_CELL_IN * 72 * 0.85
    return rows, cols, side, font

def relation_matplotlib(data, column=None):
    """The matrices at ``column`` width (natural: one column for one matrix, else two),
    one colour scale: side by side when every class keeps a 6 pt name, else wrapped into
    rows; when even then they do not fit, the default selection shows its classes with
    most pixels that do (the title says how many). A selection given explicitly that does
    not fit keeps every class and grows beyond the page (:func:`relation_layout`)."""
    log_scale = data.scale == 'log'
    names = list(data.matrices)
    width = column_width(column, 'one' if len(names) <= 1 else 'two')
    layout = matrix_layout(len(data.classes), max(len(names), 1), width,
                           label_inches(data.class_names), trim=data.ranked is not None)
    if layout is None:
        return _relation_beyond_page(data)
    keep = trimmed(data.classes, data.ranked, layout.shown)
    norm = _norm(data)
    panels = [(_matrix_title(name), _shown(data.matrices[name], keep, log_scale))
              for name in names]
    total = data.num_present or len(data.classes)
    title = (f'{len(keep)} of {total} classes present (most pixels)'
             if len(keep) < total else '')
    return draw_matrices(layout, panels, [data.class_names[i] for i in keep], norm,
                         'relation R' + (' (log)' if log_scale else ''), title)


def _norm(data):
    """One colour scale for every matrix: log (floor ``LOG_FLOOR``) or linear from 0."""
    from matplotlib.colors import LogNorm, Normalize
    vmax = max((float(mat.max()) for mat in data.matrices.values()), default=1.0)
    if data.scale == 'log':
        return LogNorm(vmin=LOG_FLOOR, vmax=max(vmax, 10 * LOG_FLOOR))
    return Normalize(0, vmax)


def _shown(mat: np.ndarray, keep, log_scale: bool) -> np.ndarray:
    mat = mat[np.ix_(keep, keep)]
    return np.maximum(mat, LOG_FLOOR) if log_scale else mat


def _relation_beyond_page(data):
    """Every class of an explicit selection (e.g. ``all`` of 150): stacked when needed, the
    figure larger than the page and the labels as small as the cells (zoom the PDF/SVG)."""
    log_scale = data.scale == 'log'
    names = list(data.matrices)
    m, n = max(len(names), 1), len(data.classes)
    max_chars = max((len(s) for s in data.class_names), default=4)
    rows, cols, side, font = relation_layout(n, m, max_chars)
    label_in = max_chars * font * 0.55 / 72 + 0.12
    stacked = rows > 1
    width = cols * side + label_in + 0.75 + (0.05 * cols)
    height = rows * (side + 0.25) + (label_in if not stacked else label_in) + 0.1
    fig = new_figure(width, height)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    norm = _norm(data)
    image = None
    for i, (ax, name) in enumerate(zip(axes, names)):
        mat = data.matrices[name]
        image = ax.imshow(np.maximum(mat, LOG_FLOOR) if log_scale else mat,
                          cmap=style.SEQUENTIAL_CMAP, norm=norm, interpolation='nearest')
        ax.set_title(_matrix_title(name), pad=3)
        ticks = np.arange(n)
        show_x = not stacked or i == len(names) - 1
        show_y = stacked or i == 0
        ax.set_xticks(ticks, data.class_names if show_x else [], rotation=90, fontsize=font)
        ax.set_yticks(ticks, data.class_names if show_y else [], fontsize=font)
        ax.tick_params(length=1.5, width=0.4, pad=1)
    if image is not None:
        cb = fig.colorbar(image, ax=list(axes), shrink=0.6 if not stacked else 0.25,
                          aspect=25, pad=0.02)
        cb.ax.tick_params(labelsize=style.MIN_FONT_SIZE, width=0.4, length=2)
        cb.set_label('relation R' + (' (log)' if log_scale else ''))
    return fig

def _matrix_title(name: str) -> str:
    return {'fixed S': 'R(S), fixed', 'adapted Sp': 'R(Sp), adapted',
            'teacher S_hat': 'R(Ŝ), teacher'}.get(name, name)


def _relation_options(ssa, baseline=None, *, classes: ClassSelection = 'present',
                      order: str = 'cluster', scale: str = 'log', class_name=None) -> RelationData:
    """``class_name`` (the app's focus class) does not change this figure."""
    return relation_data(ssa, classes, order, scale=scale)


def _class_selection(text: str) -> ClassSelection:
    spec = text.strip() or 'present'
    return int(spec) if spec.isdigit() else spec


def _check_class_names(value: ClassSelection, class_names) -> ClassSelection:
    """Comma-separated class names must be classes of the model (KeyError names the first
    unknown one); ``present``, ``all`` and a count pass as they are."""
    from ..extract import class_index
    if isinstance(value, str) and value not in ('present', 'all'):
        for name in value.split(','):
            if name.strip():
                class_index(class_names, name.strip())
    return value


OPTIONS = (
    FigureOption('classes', str, 'present', parse=_class_selection,
                 with_classes=_check_class_names,
                 help=f'relations: present (at most the {style.MAX_CLASSES} with most pixels) '
                      '| all | K (top-K by pixels) | comma-separated names'),
    FigureOption('order', str, 'cluster', choices=('cluster', 'index'),
                 help='relations: class order'),
    FigureOption('scale', str, 'log', choices=SCALES,
                 help='relations: colour scale (default log: at temperature 15 the diagonal '
                      'dominates and a linear scale shows little else)'),
)


KIND = register_figure(FigureKind(
    name='relations', title='Inter-class relation matrices', data=_relation_options,
    data_type=RelationData, plotly=relation_plotly, matplotlib=relation_matplotlib,
    options=OPTIONS))
