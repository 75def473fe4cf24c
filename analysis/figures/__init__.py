"""The analysis figures: one registry, each kind computed once and drawn twice.

A figure kind is one module in this package that registers a :class:`FigureKind`
(:mod:`analysis.figures._registry`): a data function ``data(ssa, baseline=None, **options)``
on :class:`~analysis.extract.Extraction` objects (per-image kinds) or
``data(figure_set, **options)`` on a :class:`~analysis.figureset.FigureSet` (set-level kinds,
``level='set'``: several images and models, e.g. the training curves or the ablation without
distillation), two renderers of the data object it returns, ``plotly`` (interactive) and
``matplotlib`` (paper: PDF, SVG, PNG), its options as data (:class:`FigureOption`: the CLI
flags and the app's widgets are made from them) and its caption. The CLI
(``python -m analysis``), the paper report, the app's Analysis tab and the exporters
(:mod:`analysis.figures.export`) iterate :data:`FIGURES`; adding a figure is one module plus
its name in :data:`KIND_MODULES`.

    bundle = figure('relations', extraction)          # FigureBundle(plotly figure, data)
    export_figure(bundle.data, 'r.pdf')               # .pdf/.svg/.png/.html/.json
"""
from __future__ import annotations

import importlib

from ._registry import (
    FIGURES,
    ROLES,
    FigureBundle,
    FigureKind,
    FigureOption,
    WidgetSpec,
    figure_kind,
    image_kinds,
    option_widget_specs,
    register_figure,
    set_kinds,
)
from .export import (
    FORMATS,
    export_figure,
    export_matplotlib,
    export_paper_files,
    figure,
    matplotlib_figure,
    plotly_figure,
)
from .per_image import ImageFigures, image_figures, timing_note

# The figure kinds, registered on import in this order (the order of the CLI's commands, the
# app's plots and the batch files): per-image kinds, then the set-level kinds of the paper
# (Fig. 3 with/without distillation, 4, 6, 7, 8).
KIND_MODULES = ('tsne', 'relations', 'shift',
                'distillation', 'curves', 'offsets', 'intraclass', 'gradcam')
for _module in KIND_MODULES:
    importlib.import_module(f'.{_module}', __name__)

__all__ = ['FIGURES', 'FORMATS', 'KIND_MODULES', 'ROLES', 'FigureBundle', 'FigureKind',
           'FigureOption', 'ImageFigures', 'WidgetSpec', 'export_figure', 'export_matplotlib',
           'export_paper_files',
           'figure', 'figure_kind', 'image_figures', 'image_kinds', 'matplotlib_figure',
           'option_widget_specs', 'plotly_figure', 'register_figure', 'set_kinds',
           'timing_note']
