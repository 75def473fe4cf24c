"""Drawing and writing any registered figure: plotly (interactive) or matplotlib (paper),
to .pdf/.svg/.png/.html/.json, found through the registry by the data object's type."""
from __future__ import annotations

import json
import os
from typing import List, Optional, Sequence

from ._registry import FIGURES, FigureBundle, figure_kind
from .paper import PAPER_FORMATS, paper_style, save_matplotlib

FORMATS = PAPER_FORMATS + ('html', 'json')


def figure(name: str, ssa, baseline=None, **options) -> FigureBundle:
    """Compute figure ``name`` and draw it in plotly: for a per-image kind ``ssa`` (and
    ``baseline``) are extractions; for a set-level kind ``ssa`` is the FigureSet."""
    kind = figure_kind(name)
    if kind.level == 'set':
        data = kind.data(ssa, **options)
    else:
        data = kind.data(ssa, baseline, **options)
    return FigureBundle(kind.plotly(data), data)


def plotly_figure(data):
    """The interactive figure for any registered data object."""
    return figure_kind(data).plotly(data)


def matplotlib_figure(data, column: Optional[str] = None):
    """The paper figure (a ``matplotlib.figure.Figure``) for any registered data object, at
    ``column`` width: ``'one'`` (3.4 in) or ``'two'`` (7 in); None: the kind's natural width
    (one column for a single panel or strip, two for a row of panels)."""
    with paper_style():
        return figure_kind(data).matplotlib(data, column=column)


def export_matplotlib(data, path, fmt: Optional[str] = None,
                      column: Optional[str] = None) -> str:
    """Render ``data`` with matplotlib at ``column`` width and save it (.pdf, .svg, .png).
    Returns the path."""
    return save_matplotlib(matplotlib_figure(data, column), path, fmt)


def export_paper_files(data, paths: Sequence, column: Optional[str] = None) -> List[str]:
    """Render ``data`` with matplotlib once and save it to each of ``paths`` (.pdf, .svg,
    .png), rather than once per file. Returns the paths."""
    fig = matplotlib_figure(data, column)
    return [save_matplotlib(fig, path) for path in paths]


def export_figure(data, path, figure=None, column: Optional[str] = None) -> str:
    """Write ``data`` to ``path``; the suffix picks the renderer and format:
    .pdf/.svg/.png -> matplotlib (paper, at ``column`` width: see :func:`matplotlib_figure`),
    .html -> plotly (self-contained, works offline), .json -> the numbers (kinds with
    ``to_json``). ``figure``: an already built plotly figure."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip('.').lower()
    kind = figure_kind(data)
    if fmt not in FORMATS:
        raise ValueError(f'unsupported output format {fmt!r} for {path}; use one of '
                         f'{", ".join("." + f for f in FORMATS)}')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if fmt == 'html':
        fig = figure if figure is not None else kind.plotly(data)
        # plotly.js is embedded: the file must open without network access.
        fig.write_html(path, include_plotlyjs=True, full_html=True)
        return path
    if fmt == 'json':
        if kind.to_json is None:
            with_numbers = ', '.join(k.name for k in FIGURES.values() if k.to_json)
            raise ValueError(f'.json output is not available for the {kind.name} figure; '
                             f'figures with numbers: {with_numbers}')
        with open(path, 'w', encoding='utf-8') as fh:
            json.dump(kind.to_json(data), fh, indent=2)
            fh.write('\n')
        return path
    return export_matplotlib(data, path, column=column)
