"""SSA-Seg Studio's browser app: baseline vs SSA-Seg masks, side by side.

Run ``python -m app`` (see ``python -m app --help``). The page is a thin layer over
``analysis.io``, ``analysis.colour`` and ``analysis.stats`` (images, overlays, statistics)
and the ``analysis`` figures; the
documented API endpoint ``/compare`` serves the same comparison to ``gradio_client``.
"""
from __future__ import annotations

__all__ = ['build_demo', 'main']


def __getattr__(name):      # keep ``import app`` cheap: gradio loads on first use
    if name == 'build_demo':
        from .page import build_demo
        return build_demo
    if name == 'main':
        from .cli import main
        return main
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
