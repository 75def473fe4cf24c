"""Analysis toolkit: what SSA-Seg changes, as figures and numbers.

* ``analysis.extract``   :func:`analysis.extract.extract` -> :class:`Extraction`
                         (features, prototypes, predictions)
* ``analysis.figures``   :func:`tsne_figures`, :func:`relation_figures`, :func:`shift_table`
                         (plotly figure + data), :func:`export_matplotlib`, :func:`export_figure`
* ``analysis.shift``     :func:`prototype_shift`, the per-class numbers as a pure function
* ``analysis.tsne``      stratified sampling, the t-SNE backend and its quality measures
* ``analysis.relations`` relation matrices with class selection and clustering order
* ``python -m analysis`` the command line (``analysis.cli``)
* ``analysis.io``       the one reader of images and labels
* ``analysis.colour``   palettes, overlays, the disagreement map
* ``analysis.stats``    both segmentations of an image and their statistics

Names are imported lazily so that ``import analysis`` stays cheap.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    'Extraction': 'extract',
    'tsne_figures': 'figures', 'relation_figures': 'figures', 'shift_table': 'figures',
    'shift_data': 'figures', 'export_figure': 'figures', 'export_matplotlib': 'figures',
    'FigureBundle': 'figures', 'prototype_shift': 'shift',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
