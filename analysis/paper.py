"""Matplotlib renderers: the paper versions of the figures (PDF, SVG, PNG).

They draw the same data objects the plotly renderers draw (:class:`~analysis.tsne.TsneData`,
:class:`~analysis.relations.RelationData`, :class:`~analysis.shift.ShiftData`), so the
interactive and the paper figure never disagree. Text stays text (TrueType in PDF,
``<text>`` in SVG); the thousands of t-SNE points are rasterised at 300 dpi inside the
vector file to keep it small. Figures are built with ``matplotlib.figure.Figure`` (no
pyplot state), so rendering is safe from worker threads of the app.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from . import style

PAPER_FORMATS = ('pdf', 'svg', 'png')


def paper_style():
    """Context manager applying the paper rcParams (fonts, sizes, vector text)."""
    import matplotlib
    return matplotlib.rc_context(style.PAPER_RC)


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout='constrained')


# --------------------------------------------------------------------------- t-SNE

def tsne_matplotlib(data, width: Optional[float] = None):
    """Panels side by side: the highlighted class against the rest, with its prototypes as
    stars. One panel fits a single column; two or three take the full page width."""
    from matplotlib.lines import Line2D
    n = len(data.panels)
    if width is None:
        width = style.SINGLE_COLUMN if n <= 1 else min(style.DOUBLE_COLUMN, 2.35 * n)
    panel_w = width / max(n, 1)
    fig = _new_figure(width, panel_w + 0.55)
    axes = fig.subplots(1, max(n, 1), squeeze=False)[0]
    hl = data.highlight
    markers = {'fixed': (style.FIXED, '*'), 'adapted': (style.ADAPTED, '*')}
    for ax, panel in zip(axes, data.panels):
        pts, cls = panel.points, panel.point_classes
        rest, mine = cls != hl, cls == hl
        ax.scatter(pts[rest, 0], pts[rest, 1], s=1.2, c=style.REST, linewidths=0,
                   rasterized=True)
        ax.scatter(pts[mine, 0], pts[mine, 1], s=2.0, c=style.HIGHLIGHT, linewidths=0,
                   rasterized=True)
        for role in panel.protos:
            p = panel.proto_point(role, hl)
            if p is None:
                continue
            color, marker = markers.get(role, (style.CENTER, 'P'))
            ax.scatter([p[0]], [p[1]], s=110, marker=marker, c=color, edgecolors='black',
                       linewidths=0.5, zorder=5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect('equal', adjustable='datalim')
        ax.set_title(panel.title, pad=2)
        ax.set_xlabel(cos_caption(panel), fontsize=style.FONT_SIZE - 1.5, labelpad=2)
    handles = [Line2D([], [], ls='', marker='o', ms=3, mfc=style.HIGHLIGHT, mec='none',
                      label=data.highlight_name),
               Line2D([], [], ls='', marker='o', ms=3, mfc=style.REST, mec='none',
                      label='other classes')]
    for role, text in legend_roles(data).items():
        color, marker = markers.get(role, (style.CENTER, 'P'))
        handles.append(Line2D([], [], ls='', marker=marker, ms=7, mfc=color, mec='black',
                              mew=0.5, label=text))
    fig.legend(handles=handles, loc='outside lower center', ncol=min(len(handles), 6),
               frameon=False, handletextpad=0.2, columnspacing=0.9)
    return fig


def proto_symbols(panel) -> dict:
    """Role -> symbol of the prototype in this panel's domain."""
    if panel.domain == 'spatial':
        return {'fixed': 'P', 'adapted': 'Pp'}
    if panel.domain == 'classifier':
        return {'fixed': 'S', 'adapted': 'center'}
    return {'fixed': 'S', 'adapted': 'Sp'}


def legend_roles(data) -> dict:
    """One legend entry per prototype role, naming the symbol of every domain shown,
    e.g. 'fixed prototype (S, P)'."""
    words = {'fixed': 'fixed prototype', 'adapted': 'adapted prototype'}
    symbols = {}
    for panel in data.panels:
        for role in panel.protos:
            sym = proto_symbols(panel).get(role, role)
            symbols.setdefault(role, [])
            if sym not in symbols[role]:
                symbols[role].append(sym)
    return {role: f'{words.get(role, role)} ({", ".join(syms)})'
            for role, syms in symbols.items()}


def cos_caption(panel, sep: str = ', ') -> str:
    """'cos to class mean: S 0.41, Sp 0.83' (empty when the class has no pixels here)."""
    sym = proto_symbols(panel)
    parts = [f'{sym.get(r, r)} {v:.2f}' for r, v in panel.cosines.items() if np.isfinite(v)]
    return ('cos to class mean: ' + sep.join(parts)) if parts else 'class absent'


# --------------------------------------------------------------------------- relations

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


def relation_matplotlib(data):
    """The matrices side by side (stacked when there are many classes), one colour scale."""
    from matplotlib.colors import LogNorm, Normalize
    from .relations import LOG_FLOOR
    log_scale = data.scale == 'log'
    names = list(data.matrices)
    m, n = max(len(names), 1), len(data.classes)
    max_chars = max((len(s) for s in data.class_names), default=4)
    rows, cols, side, font = relation_layout(n, m, max_chars)
    label_in = max_chars * font * 0.55 / 72 + 0.12
    stacked = rows > 1
    width = cols * side + label_in + 0.75 + (0.05 * cols)
    height = rows * (side + 0.25) + (label_in if not stacked else label_in) + 0.1
    fig = _new_figure(width, height)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    vmax = max(float(mat.max()) for mat in data.matrices.values()) if names else 1.0
    norm = (LogNorm(vmin=LOG_FLOOR, vmax=max(vmax, 10 * LOG_FLOOR)) if log_scale
            else Normalize(0, vmax))
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
        cb.ax.tick_params(labelsize=style.FONT_SIZE - 1, width=0.4, length=2)
        cb.set_label('relation R' + (' (log)' if log_scale else ''))
    return fig


def _matrix_title(name: str) -> str:
    return {'fixed S': 'R(S), fixed', 'adapted Sp': 'R(Sp), adapted',
            'teacher S_hat': 'R(Ŝ), teacher'}.get(name, name)


# --------------------------------------------------------------------------- shift

def shift_matplotlib(data):
    """Dumbbell chart: per class, cos to its pixel centroid of S -> Sp (and the final center)."""
    from matplotlib.lines import Line2D
    rows = data.rows
    n = max(len(rows), 1)
    fig = _new_figure(style.SINGLE_COLUMN, 0.55 + 0.16 * n)
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


# --------------------------------------------------------------------------- dispatch

def matplotlib_figure(data, **kwargs):
    """The paper figure (a ``matplotlib.figure.Figure``) for any analysis data object."""
    from .relations import RelationData
    from .shift import ShiftData
    from .tsne import TsneData
    with paper_style():
        if isinstance(data, TsneData):
            return tsne_matplotlib(data, **kwargs)
        if isinstance(data, RelationData):
            return relation_matplotlib(data, **kwargs)
        if isinstance(data, ShiftData):
            return shift_matplotlib(data, **kwargs)
    raise TypeError(f'no matplotlib renderer for {type(data).__name__}')


def export_matplotlib(data, path, fmt: Optional[str] = None, **kwargs) -> str:
    """Render ``data`` with matplotlib and save it; the format comes from the suffix
    (.pdf, .svg, .png) unless ``fmt`` is given. Returns the path written."""
    path = os.fspath(path)
    fmt = (fmt or os.path.splitext(path)[1].lstrip('.')).lower()
    if fmt not in PAPER_FORMATS:
        raise ValueError(f'unsupported figure format {fmt!r}; use one of {PAPER_FORMATS}')
    fig = matplotlib_figure(data, **kwargs)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    with paper_style():
        fig.savefig(path, format=fmt, metadata=_metadata(fmt))
    return path


def _metadata(fmt: str) -> dict:
    # Fixed metadata so the same data gives byte-identical files (no creation date).
    if fmt == 'pdf':
        return {'Creator': 'SSA-Seg Studio analysis', 'CreationDate': None}
    if fmt == 'svg':
        return {'Creator': 'SSA-Seg Studio analysis', 'Date': None}
    if fmt == 'png':
        return {'Software': 'SSA-Seg Studio analysis'}
    return {}

