"""Every per-image figure of one image from one extraction per model, timed.

The app's Analysis tab and its ``/figures`` endpoint call :func:`image_figures` with the
extractions of the image (one forward per model, shared by every figure) and show the
seconds each figure took (:func:`timing_note`); ``/figures`` only writes the paper files,
so it asks for no interactive (plotly) figures.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

from ._registry import image_kinds


@dataclass
class ImageFigures:
    """data: kind -> data object; figures: kind -> plotly figure (empty when not drawn);
    seconds: kind -> seconds of its data and plotly figure."""
    data: Dict[str, Any] = field(default_factory=dict)
    figures: Dict[str, Any] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)


def image_figures(ssa, baseline=None, options: Optional[Mapping[str, dict]] = None,
                  class_name=None, plotly: bool = True,
                  before: Optional[Callable[[int, int, str], None]] = None) -> ImageFigures:
    """Each registered per-image kind, in ``FIGURES`` order, on the extractions ``ssa`` and
    ``baseline`` (:func:`analysis.extract.extract`).

    options: kind -> its keyword options; class_name: the highlighted class, given to every
    kind (None: each kind's default). plotly: also draw the interactive figures.
    before(index, count, title): called before each kind (a progress bar)."""
    kinds = image_kinds()
    out = ImageFigures()
    for index, (name, kind) in enumerate(kinds.items()):
        if before is not None:
            before(index, len(kinds), kind.title)
        start = time.perf_counter()
        out.data[name] = kind.data(ssa, baseline, **{**(options or {}).get(name, {}),
                                                     'class_name': class_name})
        if plotly:
            out.figures[name] = kind.plotly(out.data[name])
        out.seconds[name] = time.perf_counter() - start
    return out


def timing_note(seconds: Mapping[str, float], extraction_seconds: Optional[float] = None) -> str:
    """``'computed in 5.4 s'`` for one figure, or for several
    ``'t-SNE 5.4 s, relations 0.1 s, shift 0.1 s; features 2.7 s'``."""
    if len(seconds) == 1 and extraction_seconds is None:
        return f'computed in {next(iter(seconds.values())):.1f} s'
    parts = ', '.join(f'{name} {s:.1f} s' for name, s in seconds.items())
    if extraction_seconds is not None:
        parts += f'; features {extraction_seconds:.1f} s'
    return parts
