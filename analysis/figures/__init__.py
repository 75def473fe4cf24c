"""The analysis figures: one registry, each kind computed once and drawn twice.

A figure kind is one module in this package that registers a :class:`FigureKind`: a data
function ``data(ssa, baseline=None, **options)`` on :class:`~analysis.extract.Extraction`
objects (per-image kinds) or ``data(figure_set, **options)`` on a
:class:`~analysis.figureset.FigureSet` (set-level kinds, ``level='set'``: several images and
models, e.g. the training curves or the ablation without distillation), and two renderers
of the data object it returns, ``plotly`` (interactive) and ``matplotlib`` (paper: PDF,
SVG, PNG). The CLI (``python -m analysis``), the app's Analysis
tab and the exporters iterate :data:`FIGURES`; adding a figure is one module plus one line
in the import list at the bottom of this file.

    bundle = figure('relations', extraction)          # FigureBundle(plotly figure, data)
    export_figure(bundle.data, 'r.pdf')               # .pdf/.svg/.png/.html/.json
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, NamedTuple, Optional

from .paper import PAPER_FORMATS, paper_style, save_matplotlib

FORMATS = PAPER_FORMATS + ('html', 'json')


class FigureBundle(NamedTuple):
    figure: Any             # plotly.graph_objects.Figure
    data: Any               # the kind's data object (TsneData, RelationData, ShiftData, ...)


@dataclass(frozen=True)
class FigureKind:
    """One figure of the toolkit.

    name: registry key, CLI command and file stem.   title: shown in the app.
    data: ``(ssa, baseline=None, **options) -> data object``.
    data_type: the class of that object (how an exporter finds the renderers).
    plotly / matplotlib: ``data object -> figure``.
    uses_baseline: whether ``data`` draws the baseline model too.
    add_arguments / options_from_args: the kind's own CLI flags and their parsing.
    to_json: ``data object -> JSON-ready dict`` (for ``.json`` export), if it has numbers.
    level: ``'image'`` (``data(ssa, baseline=None, **options)`` on one image's extractions)
        or ``'set'`` (``data(figure_set, **options)``, see :mod:`analysis.figureset`).
    caption: ``data object -> text``: what is plotted, which claim of the paper it checks
        and whether it holds on these numbers (the paper report's captions).
    """
    name: str
    title: str
    data: Callable[..., Any]
    data_type: type
    plotly: Callable[[Any], Any]
    matplotlib: Callable[[Any], Any]
    uses_baseline: bool = False
    add_arguments: Optional[Callable[[Any], None]] = None
    options_from_args: Optional[Callable[[Any], dict]] = None
    to_json: Optional[Callable[[Any], dict]] = None
    level: str = 'image'
    caption: Optional[Callable[[Any], str]] = None


FIGURES: Dict[str, FigureKind] = {}


def register_figure(kind: FigureKind) -> FigureKind:
    if kind.level not in ('image', 'set'):
        raise ValueError(f'figure kind {kind.name!r}: level must be image or set')
    if kind.name in FIGURES:
        raise ValueError(f'figure kind {kind.name!r} is registered twice')
    FIGURES[kind.name] = kind
    return kind


def figure_kind(name_or_data) -> FigureKind:
    """The kind by name, or the kind whose data type ``name_or_data`` is."""
    if isinstance(name_or_data, str):
        if name_or_data not in FIGURES:
            raise KeyError(f'unknown figure {name_or_data!r}; known: {", ".join(FIGURES)}')
        return FIGURES[name_or_data]
    for kind in FIGURES.values():
        if isinstance(name_or_data, kind.data_type):
            return kind
    raise TypeError(f'no figure kind draws {type(name_or_data).__name__}')


def image_kinds() -> Dict[str, FigureKind]:
    """The per-image kinds (what the app draws for an uploaded image)."""
    return {name: kind for name, kind in FIGURES.items() if kind.level == 'image'}


def set_kinds() -> Dict[str, FigureKind]:
    """The set-level kinds (several images / models)."""
    return {name: kind for name, kind in FIGURES.items() if kind.level == 'set'}


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


def matplotlib_figure(data):
    """The paper figure (a ``matplotlib.figure.Figure``) for any registered data object."""
    with paper_style():
        return figure_kind(data).matplotlib(data)


def export_matplotlib(data, path, fmt: Optional[str] = None) -> str:
    """Render ``data`` with matplotlib and save it (.pdf, .svg, .png). Returns the path."""
    return save_matplotlib(matplotlib_figure(data), path, fmt)


def export_figure(data, path, figure=None) -> str:
    """Write ``data`` to ``path``; the suffix picks the renderer and format:
    .pdf/.svg/.png -> matplotlib (paper), .html -> plotly (self-contained, works offline),
    .json -> the numbers (kinds with ``to_json``). ``figure``: an already built plotly figure."""
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
    return export_matplotlib(data, path)


# The figure kinds: one module each, registered on import. A new figure is one more name here.
from . import tsne, relations, shift  # noqa: E402,F401,I001  (registration)
# Set-level kinds (the paper's Fig. 3 with/without distillation, 4, 6, 7, 8).
from . import distillation, curves, offsets, intraclass, gradcam  # noqa: E402,F401,I001
from .relations import relation_figures  # noqa: E402
from .shift import shift_data, shift_table  # noqa: E402
from .tsne import tsne_figures  # noqa: E402

__all__ = ['FIGURES', 'FORMATS', 'FigureBundle', 'FigureKind', 'export_figure',
           'export_matplotlib', 'figure', 'figure_kind', 'image_kinds', 'matplotlib_figure',
           'plotly_figure', 'register_figure', 'relation_figures', 'set_kinds', 'shift_data',
           'shift_table', 'tsne_figures']
