"""Figure kind ``tsne``: t-SNE of pixel features with the fixed prototype and the adapted
centre of one class (paper Fig. 1/5), by default in the space where each classifier decides
(baseline: F against S; SSA-Seg: F + Pf against ``center_proj(Sp + Pp)``), baseline beside
SSA-Seg; the literal views of Sp beside F and Pp beside Pf are available as domains.

Data: :func:`analysis.tsne.tsne_data`; renderers: :func:`tsne_plotly`, :func:`tsne_matplotlib`.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from .. import style
from ..tsne import (
    DEFAULT_BACKEND,
    DEFAULT_DOMAINS,
    DEFAULT_MAX_POINTS,
    DEFAULT_MIXED_CELLS,
    DEFAULT_PERPLEXITY,
    DOMAINS,
    EARLY_ITER,
    FINAL_ITER,
    MIXED_CELLS,
    TsneData,
    marked_point,
    tsne_data,
)
from ._registry import FigureBundle, FigureKind, FigureOption, register_figure
from .paper import column_width, new_figure, page_height, text_inches


def tsne_figures(extraction, baseline=None, class_name=None, *,
                 max_points: int = DEFAULT_MAX_POINTS, seed: int = 0,
                 perplexity: float = DEFAULT_PERPLEXITY, backend: str = DEFAULT_BACKEND,
                 domains: Sequence[str] = DEFAULT_DOMAINS,
                 iterations: Tuple[int, int] = (EARLY_ITER, FINAL_ITER),
                 n_jobs: int = 1, mixed_cells: str = DEFAULT_MIXED_CELLS) -> FigureBundle:
    """t-SNE panels for one image (see :func:`analysis.tsne.tsne_data` for the arguments).

    iterations: (exaggerated, normal) optimisation steps; the default keeps neighbourhoods
    as well as the classic (250, 500) within ~2% at a third of the time (bench/bench_tsne.py).
    """
    data = tsne_data(extraction, baseline, class_name, max_points=max_points, seed=seed,
                     perplexity=perplexity, backend=backend, domains=domains,
                     iterations=iterations, n_jobs=n_jobs, mixed_cells=mixed_cells)
    return FigureBundle(tsne_plotly(data), data)


def point_hover(panel, names, sel) -> Tuple[list, Optional[np.ndarray]]:
    """Hover text and customdata of the points ``sel`` (a boolean mask) of a panel: the
    class and the image pixel at the centre of the point's cell, "pixel (y=.., x=..)";
    customdata rows are (row, col, y0, x0, y1, x1): the feature cell and its pixel box
    (half-open, processing-size image), what the app's linked image draws."""
    cls = panel.point_classes[sel]
    if panel.boxes is None:
        return [names[c] for c in cls], None
    cells, boxes, centres = panel.cells[sel], panel.boxes[sel], panel.pixels[sel]
    text = [f'{names[c]}<br>pixel (y={cy}, x={cx}), cell ({r}, {q})'
            for c, (cy, cx), (r, q) in zip(cls, centres, cells)]
    return text, np.concatenate([cells, boxes], axis=1)


def mark_pixel(fig, data: TsneData, pixel: Optional[Sequence[int]]):
    """Add the inspected image pixel ``pixel`` = (y, x) (processing size) to every panel of
    ``fig`` (made by :func:`tsne_plotly` from ``data``): a black star on the point of its
    feature cell when that cell was sampled, else on the sampled point nearest to it in the
    panel's feature space (cosine), said so in the hover text. ``pixel`` None: ``fig`` as it
    is. ValueError when the pixel lies outside the image. Adds to ``fig`` in place and
    returns it."""
    import plotly.graph_objects as go
    if pixel is None:
        return fig
    shown = False
    for col, panel in enumerate(data.panels, start=1):
        mark = marked_point(panel, pixel)
        if mark is None:
            continue
        y, x = mark.pixel
        point = panel.points[mark.index]
        what = (f'inspected pixel (y={y}, x={x}), cell {mark.cell}' if mark.exact else
                f'nearest sampled point to the inspected pixel (y={y}, x={x}): cell '
                f'{tuple(int(v) for v in panel.cells[mark.index])}; cell {mark.cell} '
                'is not in the sample')
        fig.add_trace(go.Scatter(
            x=[point[0]], y=[point[1]], mode='markers', name=f'inspected pixel (y={y}, x={x})',
            legendgroup='inspected', showlegend=not shown,
            marker=dict(symbol='star', size=18, color='black', line=dict(width=1.5,
                                                                       color='white')),
            hovertemplate=what + '<extra></extra>'), row=1, col=col)
        shown = True
    return fig


def tsne_plotly(data: TsneData, pixel: Optional[Sequence[int]] = None):
    """The panels as one plotly figure; drag selects points (the app links a selection to
    the image), ``pixel`` (y, x) marks an inspected pixel (:func:`mark_pixel`)."""
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
            text, custom = point_hover(panel, names, sel)
            fig.add_trace(go.Scatter(
                x=pts[sel, 0], y=pts[sel, 1], mode='markers', name=label, legendgroup=key,
                showlegend=key not in legend_done and bool(sel.any()),
                marker=dict(size=size, color=color, opacity=0.7 if key == 'rest' else 0.9),
                text=text, customdata=custom,
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
        template='plotly_white', height=460, autosize=True, dragmode='select',
        title=dict(text=f't-SNE of pixel features, class "{names[hl]}" highlighted '
                        f'({data.source} pixels{_mixed_words(data)}, seed {data.seed})',
                   x=0.5),
        legend=dict(orientation='h', yanchor='top', y=-0.02, xanchor='center', x=0.5),
        margin=dict(l=20, r=20, t=90, b=40))
    return mark_pixel(fig, data, pixel)


def _mixed_words(data: TsneData) -> str:
    dropped = dict.fromkeys(str(p.mixed_dropped) for p in data.panels
                            if p.mixed_dropped is not None)
    return f', {"/".join(dropped)} mixed cells dropped' if dropped else ''


MIN_PANEL_IN = 1.5      # a t-SNE panel narrower than this wraps to the next row


def tsne_matplotlib(data, column=None, width: Optional[float] = None):
    """Panels in a row (wrapped into rows below ``MIN_PANEL_IN`` each): the highlighted
    class against the rest, with its prototypes as stars; the legend one line when it fits.
    ``column``: ``'one'``/``'two'``; None (natural): one panel a single column, two or three
    panels 2.35 in each up to the page width; ``width`` in inches overrides both."""
    n = max(len(data.panels), 1)
    if width is None:
        width = (column_width(column) if column is not None else
                 style.SINGLE_COLUMN if n <= 1 else min(style.DOUBLE_COLUMN, 2.35 * n))
    cols = max(1, min(n, int(width // MIN_PANEL_IN)))
    rows = -(-n // cols)
    panel_w = width / cols
    narrow = panel_w < 2.2
    handles = _legend_handles(data, short=False)
    one_line = _fits(handles, width)
    if not one_line:                    # 'fixed (S)' for 'fixed prototype (S)', ...
        handles = _legend_handles(data, short=True)
        one_line = _fits(handles, width)
    legend_in = 0.2 if one_line else 0.35
    fig = new_figure(width, page_height(width, rows * (panel_w + (0.6 if narrow else 0.45))
                                        + legend_in))
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax, panel in zip(axes, data.panels):
        tsne_axes(ax, data, panel, narrow=narrow)
    for ax in axes[len(data.panels):]:
        ax.set_axis_off()
    fig.legend(handles=handles, loc='outside lower center',
               ncol=len(handles) if one_line else -(-len(handles) // 2),
               frameon=False, handletextpad=0.2, columnspacing=0.9)
    return fig


def _legend_handles(data, short: bool):
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls='', marker='o', ms=3, mfc=style.HIGHLIGHT, mec='none',
                      label=data.highlight_name),
               Line2D([], [], ls='', marker='o', ms=3, mfc=style.REST, mec='none',
                      label='other' if short else 'other classes')]
    for role, text in legend_roles(data).items():
        color, marker = MARKERS.get(role, (style.CENTER, 'P'))
        handles.append(Line2D([], [], ls='', marker=marker, ms=7, mfc=color, mec='black',
                              mew=0.5, label=text.replace(' prototype', '') if short else text))
    return handles


def _fits(handles, width: float) -> bool:
    """Whether the legend entries fit one line (marker and gaps about 0.3 in each)."""
    return sum(text_inches(h.get_label()) + 0.3 for h in handles) <= width


MARKERS = {'fixed': (style.FIXED, '*'), 'adapted': (style.ADAPTED, '*')}


def tsne_axes(ax, data, panel, narrow: bool = False) -> None:
    """Draw one t-SNE panel on a matplotlib axes: the highlighted class against the rest,
    its prototypes as stars, the cosines below (shared with the set-level figures);
    ``narrow``: a smaller title and the cosines on two lines."""
    hl = data.highlight
    pts, cls = panel.points, panel.point_classes
    rest, mine = cls != hl, cls == hl
    ax.scatter(pts[rest, 0], pts[rest, 1], s=1.2, c=style.REST, linewidths=0, rasterized=True)
    ax.scatter(pts[mine, 0], pts[mine, 1], s=2.0, c=style.HIGHLIGHT, linewidths=0,
               rasterized=True)
    for role in panel.protos:
        p = panel.proto_point(role, hl)
        if p is None:
            continue
        color, marker = MARKERS.get(role, (style.CENTER, 'P'))
        ax.scatter([p[0]], [p[1]], s=110, marker=marker, c=color, edgecolors='black',
                   linewidths=0.5, zorder=5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect('equal', adjustable='datalim')
    ax.set_title(panel.title, pad=2, fontsize=style.FONT_SIZE if narrow else None)
    cosines = cos_caption(panel)
    ax.set_xlabel(cosines.replace(': ', ':\n', 1) if narrow else cosines,
                  fontsize=style.MIN_FONT_SIZE, labelpad=2)


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


def _class_given(value, class_names):
    """A highlighted class given by name or index -> its index (KeyError names unknown ones)."""
    from ..extract import class_index
    return class_index(class_names, int(value) if str(value).isdigit() else value)


def _domains(text: str) -> Tuple[str, ...]:
    domains = tuple(d.strip() for d in text.split(',') if d.strip())
    bad = [d for d in domains if d not in DOMAINS]
    if bad or not domains:
        raise ValueError(f'--domains {text}: unknown {bad or text}; '
                         f'choose from {", ".join(DOMAINS)}')
    return domains


def _iterations(text: str) -> Tuple[int, int]:
    try:
        early, final = (int(v) for v in text.split(','))
    except ValueError:
        raise ValueError(f'--iterations {text}: expected two integers like 250,500') from None
    if early < 0 or final < 1:
        raise ValueError(f'--iterations {text}: need E >= 0 and N >= 1')
    return early, final


OPTIONS = (
    FigureOption('class_name', flag='--class', focus=True, with_classes=_class_given,
                 help='t-SNE: class to highlight (name or index)'),
    FigureOption('max_points', int, DEFAULT_MAX_POINTS, 't-SNE: pixel sample cap', minimum=1),
    FigureOption('domains', str, ','.join(DEFAULT_DOMAINS), parse=_domains,
                 help='t-SNE: panels of the SSA-Seg model, from ' + ', '.join(DOMAINS)
                      + ' (default classifier: the decision space, F+Pf with S and the '
                      'final centers; semantic: Sp beside F, literally)'),
    FigureOption('seed', int, 0, 't-SNE: seed (same seed, same figure)'),
    FigureOption('perplexity', float, DEFAULT_PERPLEXITY, 't-SNE: perplexity'),
    FigureOption('iterations', str, None, metavar='E,N', parse=_iterations,
                 help=f't-SNE: exaggerated and normal iterations (default {EARLY_ITER},'
                      f'{FINAL_ITER}; the classic schedule is 250,500)'),
    FigureOption('backend', str, None, choices=('opentsne', 'sklearn'),
                 help=f't-SNE implementation (default: {DEFAULT_BACKEND}, the measured '
                      'choice)'),
    FigureOption('mixed_cells', str, DEFAULT_MIXED_CELLS, choices=MIXED_CELLS,
                 help='t-SNE: feature cells whose image pixels span several ground-truth '
                      'classes: drop (default) or keep; no effect without a label'),
)


def sampling_note(data: TsneData) -> str:
    """How the points were sampled: class-balanced, and what became of the mixed cells."""
    base = f'Points: a class-balanced sample of at most {data.max_points} feature cells'
    if data.source != 'label':
        return (base + '; no label, so classes come from the prediction and no cell is '
                'dropped as mixed (the mixed-cells option needs a label).')
    if data.mixed_cells == 'keep':
        return base + '; cells spanning several ground-truth classes kept (mixed cells: keep).'
    dropped = ', '.join(f'{p.title} {p.mixed_dropped}' for p in data.panels
                        if p.mixed_dropped is not None)
    return (base + ' whose image pixels all have one ground-truth class (mixed cells '
            f'dropped: {dropped}).')


def caption(data: TsneData) -> str:
    """The paper report's caption: what is plotted and the cosines to the class centroid."""
    cos = '; '.join(f'{q.title}: ' + ', '.join(f'{r} {v:.2f}' for r, v in q.cosines.items())
                    for q in data.panels)
    return (f't-SNE of the pixel features of {data.image_name}, class "{data.highlight_name}"'
            ' highlighted, in the space where each classifier decides: the baseline '
            'compares F with its fixed prototypes S by inner product (plus a bias), '
            'SSA-Seg compares F + Pf with its centres center_proj(Sp + Pp) by cosine; '
            'all vectors L2-normalised. Stars: the fixed prototype S (vermillion) and '
            'the adapted centre (green). Paper (Fig. 1/5): the adapted prototype moves '
            'toward the centre of the image\'s class features. Cosine to the class '
            f'centroid: {cos}. {sampling_note(data)}')


def summary(data: TsneData) -> dict:
    """The numbers the paper report keeps: image, class and the cosines per panel."""
    return {'image': data.image_name, 'class': data.highlight_name,
            'cosines_to_class_centroid': {p.title: p.cosines for p in data.panels},
            'mixed_cells': data.mixed_cells if data.source == 'label' else
            'no effect (no label)',
            'mixed_cells_dropped': {p.title: p.mixed_dropped for p in data.panels}}


KIND = register_figure(FigureKind(
    name='tsne', title='t-SNE of pixel features', data=tsne_data, data_type=TsneData,
    plotly=tsne_plotly, matplotlib=tsne_matplotlib, uses_baseline=True, options=OPTIONS,
    summary=summary, roles=('baseline', 'ssa'), caption=caption))
