"""Analysis toolkit: what SSA-Seg changes, as figures and numbers.

* ``analysis.figures``   the figure registry: :data:`FIGURES` of :class:`FigureKind` (each
                         with its :class:`FigureOption` s), :func:`figure`,
                         :func:`export_figure`, :func:`image_kinds`, :func:`set_kinds`
* ``analysis.extract``   :func:`analysis.extract.extract` -> :class:`Extraction`
                         (features, prototypes, predictions)
* ``analysis.figureset`` the models of a pair and labelled images, for set-level figures
* ``analysis.report``    every paper figure, numbers.json and report.html
* ``analysis.shift``     :func:`prototype_shift`, the per-class numbers as a pure function
* ``analysis.tsne``      stratified sampling, the t-SNE backend and its quality measures
* ``analysis.relations`` relation matrices with class selection and clustering order
* ``analysis.dataset``   baseline against SSA-Seg over a data set (a package)
* ``analysis.pair_args`` the model arguments every command shares
* ``python -m analysis`` the command line (``analysis.cli``)
* ``analysis.io``        the one reader of images and labels
* ``analysis.colour``    palettes, overlays, the disagreement map
* ``analysis.stats``     both segmentations of an image and their statistics

Names are imported lazily so that ``import analysis`` stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    **{name: 'figures' for name in (
        'FIGURES', 'FORMATS', 'FigureBundle', 'FigureKind', 'FigureOption', 'WidgetSpec',
        'export_figure', 'export_matplotlib', 'figure', 'figure_kind', 'image_kinds',
        'matplotlib_figure', 'option_widget_specs', 'plotly_figure', 'register_figure',
        'set_kinds')},
    'Extraction': 'extract',
    'FigureSet': 'figureset',
    'prototype_shift': 'shift',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
