"""Paper versions of the Analysis tab's figures: files named by image, model and figure,
and one zip of them all (written into Gradio's temporary folder)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import List, Optional, Sequence

from analysis.figures import FIGURES, export_figure

from .errors import log, user_error
from .files import safe_stem, scratch_dir
from .state import ImageView

FIGURE_FORMATS = ('png', 'svg', 'pdf')


def figure_file_stem(kind: str, view: Optional[ImageView]) -> str:
    """``<image>_<model>_<figure>``; figures drawing both models name both."""
    if not view:
        return kind
    names = view.model_names
    model = safe_stem(names['ssa'], 'ssa')
    if FIGURES[kind].uses_baseline:
        model = f'{safe_stem(names["baseline"], "baseline")}_vs_{model}'
    return f'{safe_stem(view.name)}_{model}_{kind}'


def export_figures(data: Optional[dict], formats: Sequence[str] = FIGURE_FORMATS,
                   view: Optional[ImageView] = None) -> List[str]:
    """Paper versions (matplotlib) of the computed figures, one file per figure and format,
    named by image, model and figure (:func:`figure_file_stem`), plus the numbers (.json)
    of the figures that have them."""
    if not data:
        raise user_error('Compute the figures first.', 'Nothing to export')
    chosen = [f for f in FIGURE_FORMATS if f in (formats or ())]
    if not chosen:
        raise user_error('Choose at least one format (PNG, SVG or PDF).', 'Nothing to export')
    folder = scratch_dir()
    try:
        files = []
        for kind, figure_data in data.items():
            stem = figure_file_stem(kind, view)
            suffixes = chosen + (['json'] if FIGURES[kind].to_json else [])
            files += [export_figure(figure_data, folder / f'{stem}.{fmt}') for fmt in suffixes]
        return files
    except Exception as err:
        log.exception('export failed')
        raise user_error(f'{type(err).__name__}: {err}', 'Export failed') from None


def download_all(data: Optional[dict], formats: Sequence[str] = FIGURE_FORMATS,
                 view: Optional[ImageView] = None) -> List[str]:
    """One zip of every exported figure file, and the files themselves."""
    files = export_figures(data, formats, view)
    stem = safe_stem(view.name) if view else 'figures'
    archive = Path(files[0]).parent / f'{stem}_figures.zip'
    with zipfile.ZipFile(archive, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, arcname=Path(path).name)
    return [str(archive)] + files
