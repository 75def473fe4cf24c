"""The files of a data-set comparison (``python -m analysis dataset --out DIR``), and reading
them back (the app's Dataset tab).

Layout of a report folder::

    summary.json                 every number (analysis.dataset.compare.summarize), gallery list
    per_class.csv                class, pixels, IoU and boundary IoU of both models, deltas
    confusion.json               both K x K confusion matrices (rows ground truth)
    confusion_difference.csv     the pairs (true, predicted) whose count changed most
    per_class_delta.png/.pdf     per-class IoU and boundary-IoU deltas (SSA-Seg - baseline),
                                 with their 95% paired-bootstrap intervals as error bars
    confusion_difference.png/.pdf
    error_breakdown.png/.pdf     boundary band vs interior (analysis.breakdown_chart)
    gallery/<kind>_<rank>_<stem>.png   one row per image: image | GT | baseline | SSA-Seg | error
                                 (kinds gain, loss, and confusion<NN>: the images of the NN-th
                                 confusion change, named in its ``images``)
    gallery/inputs/<name>        the gallery images (copied) and labels (indexed PNG), so that
                                 the app can open them in its Segment tab
    gallery.pdf                  all gallery rows on one page
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..colour import mask_to_png_bytes
from .gallery import GalleryRow, gallery_figure, strip

SUMMARY = 'summary.json'
CSV_COLUMNS = ('name', 'pixels', 'iou_baseline', 'iou_ssa', 'iou_delta', 'biou_baseline',
               'biou_ssa', 'biou_delta')
DELTA_COLOURS = ('#0072b2', '#e69f00')          # IoU, boundary IoU (Okabe-Ito)
BETTER, WORSE = '#009e73', '#d55e00'


def delta(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else round(b - a, 4)


def per_class_rows(summary: dict) -> List[dict]:
    return [dict(name=c['name'], pixels=c['pixels'], iou_baseline=c['iou_baseline'],
                 iou_ssa=c['iou_ssa'], iou_delta=delta(c['iou_baseline'], c['iou_ssa']),
                 biou_baseline=c['biou_baseline'], biou_ssa=c['biou_ssa'],
                 biou_delta=delta(c['biou_baseline'], c['biou_ssa']))
            for c in summary['classes']]


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: '' if row.get(k) is None else row[k] for k in columns})


# --------------------------------------------------------------------------- charts

def delta_figure(summary: dict):
    """Grouped horizontal bars: per class, SSA-Seg minus baseline, IoU and boundary IoU
    (percentage points); classes without a value are left out."""
    from ..figures.paper import new_figure

    rows = [r for r in per_class_rows(summary)
            if r['iou_delta'] is not None or r['biou_delta'] is not None]
    fig = new_figure(5.0, max(2.0, 0.8 + 0.28 * len(rows)))
    ax = fig.subplots()
    y = np.arange(len(rows))
    intervals = {c['name']: c for c in summary['classes']}
    for offset, key, colour, text in ((-0.2, 'iou_delta', DELTA_COLOURS[0], 'IoU'),
                                      (0.2, 'biou_delta', DELTA_COLOURS[1], 'boundary IoU')):
        values = [r[key] if r[key] is not None else 0.0 for r in rows]
        ci = [intervals[r['name']].get(f'delta_{key.split("_")[0]}_ci95') for r in rows]
        # error bars: the 95% paired-bootstrap interval around each delta
        xerr = None if not any(ci) else np.array(
            [[max(v - c[0], 0), max(c[1] - v, 0)] if c else [0, 0]
             for v, c in zip(values, ci)]).T
        ax.barh(y + offset, values, height=0.4, color=colour, label=text, xerr=xerr,
                error_kw=dict(elinewidth=0.7, capsize=1.5, ecolor='#333333'))
    ax.set_yticks(y, [r['name'] for r in rows])
    ax.invert_yaxis()
    ax.axvline(0, color='#333333', linewidth=0.8)
    ax.set_xlabel('SSA-Seg - baseline (percentage points)'
                  + ('; bars: 95% paired-bootstrap interval' if summary.get('delta_miou') else ''))
    ax.set_title(f'mIoU {summary["miou_baseline"]:.2f} -> {summary["miou_ssa"]:.2f}, '
                 f'mBIoU {summary["mbiou_baseline"]:.2f} -> {summary["mbiou_ssa"]:.2f}',
                 fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return fig


def confusion_figure(summary: dict):
    """Horizontal bars: the change in pixels of each (true -> predicted) pair of
    ``confusion_changes``; green where SSA-Seg makes that mistake less."""
    from ..figures.paper import new_figure

    rows = summary['confusion_changes']
    fig = new_figure(5.0, max(2.0, 0.8 + 0.28 * len(rows)))
    ax = fig.subplots()
    y = np.arange(len(rows))
    changes = [r['change'] for r in rows]
    ax.barh(y, changes, color=[BETTER if c < 0 else WORSE for c in changes])
    ax.set_yticks(y, [f'{r["true"]} as {r["pred"]}' for r in rows])
    ax.invert_yaxis()
    ax.axvline(0, color='#333333', linewidth=0.8)
    ax.set_xlabel('pixels, SSA-Seg - baseline (negative: fewer mistakes)')
    ax.set_title('Largest changes of the confusion matrix (true class as predicted class)',
                 fontsize=8)
    return fig


# --------------------------------------------------------------------------- writing

def _save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image
    Image.fromarray(array).save(path, format='PNG', optimize=True)


def write_gallery(rows: Sequence[GalleryRow], out: Path, inputs: Dict[str, dict],
                  palette, num_classes: int, pdf: bool = True) -> List[dict]:
    """Strips, copied inputs and the one-page PDF; returns the gallery entries of the summary.

    ``inputs[name]``: ``img_path`` (copied as is) and ``label`` (H x W, written as an indexed
    PNG in the data set's convention after its label processing)."""
    folder = out / 'gallery'
    (folder / 'inputs').mkdir(parents=True, exist_ok=True)
    entries = []
    for row in rows:
        _save_png(strip(row.panels), folder / f'{row.stem}.png')
        source = inputs[row.name]
        image_file = folder / 'inputs' / Path(source['img_path']).name
        if not image_file.exists():
            shutil.copyfile(source['img_path'], image_file)
        label_file = folder / 'inputs' / f'{Path(row.name).stem}_label.png'
        label_file.write_bytes(mask_to_png_bytes(source['label'], palette, num_classes))
        entries.append(dict(kind=row.kind, rank=row.rank, name=row.name,
                            miou_baseline=row.miou_baseline, miou_ssa=row.miou_ssa,
                            file=f'gallery/{row.stem}.png',
                            image=f'gallery/inputs/{image_file.name}',
                            label=f'gallery/inputs/{label_file.name}'))
    if pdf:
        from ..figures.paper import save_matplotlib
        save_matplotlib(gallery_figure(rows, 'SSA-Seg against the baseline: largest gains '
                                       'and losses'), out / 'gallery.pdf')
    return entries


def write_report(summary: dict, confusions: Dict[str, np.ndarray], out: os.PathLike,
                 gallery: Sequence[GalleryRow] = (), gallery_inputs: Optional[dict] = None,
                 palette=None, pdf: bool = True, drilldown: Sequence[GalleryRow] = ()
                 ) -> List[str]:
    """Every file of the report folder (see the module doc); returns the paths written.
    ``drilldown``: the strips of the confusion changes' images (kinds ``confusion<NN>``)."""
    from ..breakdown import attach_drilldown
    from ..breakdown_chart import breakdown_figure
    from ..figures.paper import save_matplotlib

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    num_classes = len(summary['classes'])
    summary = dict(summary)
    summary['gallery'] = write_gallery(gallery, out, gallery_inputs or {}, palette,
                                       num_classes, pdf) if gallery else []
    summary['confusion_changes'] = [dict(c, images=[dict(i) for i in c.get('images') or []])
                                    for c in summary['confusion_changes']]
    drill = write_gallery(drilldown, out, gallery_inputs or {}, palette, num_classes,
                          pdf=False) if drilldown else []
    attach_drilldown(summary['confusion_changes'], drill)
    written = []
    path = out / SUMMARY
    path.write_text(json.dumps(summary, indent=1) + '\n')
    written.append(path)
    _write_csv(out / 'per_class.csv', CSV_COLUMNS, per_class_rows(summary))
    _write_csv(out / 'confusion_difference.csv', ('true', 'pred', 'baseline', 'ssa', 'change'),
               summary['confusion_changes'])
    (out / 'confusion.json').write_text(json.dumps(
        dict(classes=[c['name'] for c in summary['classes']],
             rows='ground truth', columns='prediction',
             **{role: np.asarray(m).tolist() for role, m in confusions.items()})) + '\n')
    written += [out / 'per_class.csv', out / 'confusion_difference.csv', out / 'confusion.json']
    formats = ('png', 'pdf') if pdf else ('png',)
    charts = [('per_class_delta', delta_figure), ('confusion_difference', confusion_figure)]
    if summary.get('error_breakdown'):
        charts.append(('error_breakdown', breakdown_figure))
    for stem, make in charts:
        fig = make(summary)
        for fmt in formats:
            written.append(Path(save_matplotlib(fig, out / f'{stem}.{fmt}')))
    written += [out / e['file'] for e in [*summary['gallery'], *drill]]
    if pdf and gallery:
        written.append(out / 'gallery.pdf')
    return [str(p) for p in written]


# --------------------------------------------------------------------------- reading

class ReportError(ValueError):
    """A folder that is not a readable report."""


def load_report(folder: os.PathLike) -> dict:
    """``summary.json`` of a report folder, with the files it names resolved to absolute
    paths inside the folder (entries naming files outside it, or missing, are dropped)."""
    folder = Path(folder).resolve()
    path = folder / SUMMARY
    if not path.is_file():
        raise ReportError(f'{folder} holds no {SUMMARY} (write one with '
                          '`python -m analysis dataset --out DIR`)')
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f'{path} cannot be read: {err}') from None

    def inside(name: Optional[str]) -> Optional[str]:
        if not name:
            return None
        target = (folder / name).resolve()
        if folder not in target.parents or not target.is_file():
            return None
        return str(target)

    summary['folder'] = str(folder)
    summary['charts'] = {stem: inside(f'{stem}.png')
                         for stem in ('per_class_delta', 'confusion_difference',
                                      'error_breakdown')}
    gallery = []
    for entry in summary.get('gallery') or []:
        entry = dict(entry, file=inside(entry.get('file')), image=inside(entry.get('image')),
                     label=inside(entry.get('label')))
        if entry['file']:
            gallery.append(entry)
    summary['gallery'] = gallery
    for change in summary.get('confusion_changes') or []:
        change['images'] = [dict(e, file=inside(e.get('file')), image=inside(e.get('image')),
                                 label=inside(e.get('label')))
                            for e in change.get('images') or []]
    return summary
