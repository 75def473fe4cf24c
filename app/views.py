"""What only the page shows: the viewer's and legend's HTML, table rows, the pixel-share
chart, timing text and the Models page.

Every number comes from :func:`analysis.stats.comparison_statistics`,
:func:`analysis.stats.error_breakdown` or the zoo (``ssa_seg.zoo.ZooModel.metrics``); these
functions only lay it out for Gradio widgets. Pictures arrive as PNG bytes made from
``analysis.colour`` arrays.
"""
from __future__ import annotations

import base64
import html
import json
from typing import List, Mapping, Optional, Sequence

from analysis.colour import (
    BOTH_WRONG,
    DISAGREEMENT_COLOR,
    ONLY_BASELINE_RIGHT,
    ONLY_SSA_RIGHT,
    hex_colour,
    palette_array,
)

from .files import asset

HATCH_CSS = 'repeating-linear-gradient(45deg, rgba(0,0,0,0.55) 0 2px, transparent 2px 6px), '


def _swatch(color: str, hatched: bool = False) -> str:
    background = (HATCH_CSS if hatched else '') + html.escape(color)
    return ('<span class="ssa-swatch" style="display:inline-block;width:14px;height:14px;'
            f'border:1px solid #555;margin-right:5px;background:{background};"></span>')


def legend_html(entries: Sequence[Mapping]) -> str:
    """The legend as a small HTML block of colour swatches (names are escaped); classes
    whose colour is close to another's are hatched, as in the overlays."""
    if not entries:
        return '<div class="ssa-legend"><em>no classes</em></div>'
    items = ''.join(
        '<span class="ssa-legend-item" style="display:inline-flex;align-items:center;'
        'margin:2px 10px 2px 0;"'
        + (' data-hatched="1" title="hatched: its colour is close to another class&#39;s"'
           if e.get('hatched') else '') + '>'
        + _swatch(e['color'], bool(e.get('hatched')))
        + f'{html.escape(str(e["name"]))}</span>' for e in entries)
    return f'<div class="ssa-legend">{items}</div>'


def map_legend_html(kind: str, breakdown: Optional[Mapping] = None) -> str:
    """The key of the map beside the masks: disagreement, or the 3-colour error map with
    the share of labelled pixels in each colour (:func:`analysis.stats.error_breakdown`)."""
    if kind != 'error':
        return ('<div class="ssa-map-key">' + _swatch(hex_colour(DISAGREEMENT_COLOR))
                + 'map: the two models predict different classes</div>')

    def share(key):
        value = (breakdown or {}).get(key)
        return '' if value is None else f' {100 * value:.1f}%'

    items = [(ONLY_SSA_RIGHT, 'only SSA-Seg right', 'only_ssa_right'),
             (ONLY_BASELINE_RIGHT, 'only baseline right', 'only_baseline_right'),
             (BOTH_WRONG, 'both wrong', 'both_wrong')]
    return '<div class="ssa-map-key">map (share of labelled pixels): ' + ''.join(
        f'<span class="ssa-legend-item" style="margin-right:12px">{_swatch(hex_colour(c))}'
        f'{text}{share(key)}</span>' for c, text, key in items) + '</div>'


def data_uri(png: bytes) -> str:
    return 'data:image/png;base64,' + base64.b64encode(png).decode('ascii')


def viewer_html(panels: Sequence[Mapping], size, classes: Sequence[str], key: str,
                legend: str = '', map_key: str = '') -> str:
    """The Segment tab's synchronised panels.

    panels: [{id, title, png (the picture), index_png (class indices as grey levels, for the
    hover read-out; optional)}]. size: (height, width) of the pictures. ``key`` names the
    image: zoom and pan are kept while it stays the same (opacity, filter, map changes).
    The script that zooms, pans and reads classes is :data:`VIEWER_JS`.
    """
    height, width = size
    figures, indices = [], []
    for panel in panels:
        title = html.escape(panel['title'])
        figures.append(
            f'<figure class="ssa-panel" id="{html.escape(panel["id"])}">'
            f'<figcaption title="{title}">{title}</figcaption>'
            f'<div class="ssa-pane" style="aspect-ratio:{width}/{height}">'
            f'<img class="ssa-layer" alt="{title}" draggable="false" '
            f'src="{data_uri(panel["png"])}"></div></figure>')
        if panel.get('index_png') is not None:
            indices.append(f'<img class="ssa-index" hidden alt="" data-role="'
                           f'{html.escape(panel["role"])}" src="{data_uri(panel["index_png"])}">')
    names = html.escape(json.dumps([str(c) for c in classes]), quote=True)
    return (f'<div class="ssa-viewer" data-key="{html.escape(key)}" data-width="{width}" '
            f'data-height="{height}" data-classes="{names}">'
            f'<div class="ssa-panels">{"".join(figures)}</div>'
            '<div class="ssa-readout" id="hover-readout">Scroll to zoom, drag to pan (all '
            'panels together), double-click to reset; hover a pixel to read its classes.</div>'
            f'{map_key}{legend}{"".join(indices)}</div>')


VIEWER_CSS = asset('viewer.css')
INSPECTOR_CSS = asset('inspector.css')

# Zoom and pan shared by every panel (one transform for all), kept across re-renders of the
# same image; hover reads the class under the pointer from the grey-level index pictures.
VIEWER_JS = asset('viewer.js')


def _metric(model) -> str:
    value = (model.metrics or {}).get('val_mIoU')
    return '' if value is None else f'{float(value):.2f}'


def trained_on(model) -> str:
    """What a zoo model was trained on, from its manifest entry (``extra``)."""
    extra = model.extra or {}
    for key in ('dataset', 'trained_on', 'data'):
        if extra.get(key):
            return str(extra[key])
    return ''


def is_synthetic_demo(model) -> bool:
    """The shipped demo models (trained on SynthScenes, the toolkit's generated scenes)."""
    text = ' '.join([model.config or '', trained_on(model), model.name]).lower()
    return 'synthscenes' in text


def models_markdown(specs, loaded_names: Sequence[str] = ()) -> str:
    """The Models tab: each pair's two models, what they were trained on, their val mIoU
    (the manifest's ``val_mIoU``), and for the demo pair what it can and cannot do."""
    lines = []
    for spec in specs:
        state = 'loaded' if spec.name in loaded_names else 'loaded on first use'
        lines.append(f'#### Pair `{spec.name}` ({state})\n')
        lines.append('| role | model | trained on | val mIoU (%) | config | checkpoint |')
        lines.append('|---|---|---|---|---|---|')
        for role, model in (('baseline', spec.baseline), ('SSA-Seg', spec.ssa)):
            lines.append(f'| {role} | {model.name} | {trained_on(model) or "not recorded"} | '
                         f'{_metric(model) or "not recorded"} | `{model.config}` | '
                         f'`{model.checkpoint}` |')
        if is_synthetic_demo(spec.baseline) or is_synthetic_demo(spec.ssa):
            lines.append(
                '\n> **Demo models: they know synthetic scenes only.** They were trained on '
                'SynthScenes (generated rooms and streets, 10 classes) and give meaningless '
                'masks on real photos. For real photos, serve real checkpoints:\n>\n'
                '> `python -m app --baseline CONFIG CHECKPOINT --ssa CONFIG CHECKPOINT '
                '--baseline-name NAME --ssa-name NAME`\n>\n'
                '> or add both models and a pair to the zoo manifest '
                '(`checkpoints/manifest.yaml`, format in `ssa_seg/zoo/manifest.py`) and run '
                '`python -m app --pair NAME`.')
        lines.append('')
    return '\n'.join(lines)


def share_rows(stats: Mapping, min_share: float = 0.0) -> List[List]:
    """Table rows [class, baseline %, SSA-Seg %] for classes either model predicts."""
    base = stats['models']['baseline']['pixel_share']
    ssa = stats['models']['ssa']['pixel_share']
    rows = []
    for name in stats['classes']:
        a, b = base.get(name) or 0.0, ssa.get(name) or 0.0
        if max(a, b) > min_share:
            rows.append([name, round(100 * a, 2), round(100 * b, 2)])
    return rows

def iou_rows(stats: Mapping) -> List[List]:
    """Table rows [class, baseline IoU %, SSA-Seg IoU %] (None = class not counted), then mIoU."""
    evaluation = stats.get('evaluation')
    if not evaluation:
        return []
    base, ssa = evaluation['baseline']['per_class_iou'], evaluation['ssa']['per_class_iou']

    def pct(v):
        return None if v is None else round(100 * v, 2)

    rows = [[name, pct(base.get(name)), pct(ssa.get(name))] for name in stats['classes']
            if base.get(name) is not None or ssa.get(name) is not None]
    rows.append(['mIoU', pct(evaluation['baseline']['mIoU']), pct(evaluation['ssa']['mIoU'])])
    return rows

def timing_text(stats: Mapping) -> str:
    """One line: each model's inference time."""
    models = stats['models']
    return ' | '.join(f'{models[r]["name"]}: {1000 * models[r]["inference_seconds"]:.0f} ms'
                      for r in ('baseline', 'ssa'))

def pixel_share_html(stats: Mapping, palette, min_share: float = 0.0) -> str:
    """Grouped horizontal bars of the per-class pixel share (%): one row per class of
    :func:`share_rows`, the baseline's bar in the class colour, SSA-Seg's hatched; bar lengths
    are relative to the largest share; the exact values are printed and in each bar's tooltip.

    Plain HTML rather than a plotly figure: plotly's script costs the browser about 1 s of
    blocked main thread the first time a page draws it (measured in chromium), and the Segment
    tab must stay responsive right after a result.
    """
    rows = share_rows(stats, min_share)
    if not rows:
        return '<div class="ssa-share"><em>no classes</em></div>'
    table = palette_array(palette, len(stats['classes']))
    colours = {n: hex_colour(table[i]) for i, n in enumerate(stats['classes'])}
    models = stats['models']
    largest = max(max(r[1], r[2]) for r in rows) or 1.0
    bar_style = ('display:block;height:11px;margin:1px 0;border:1px solid #333;'
                 'box-sizing:border-box;min-width:1px;')
    cell = 'border:none;padding-top:2px;padding-bottom:2px;white-space:nowrap;'
    body = []
    for name, *shares in rows:
        bars, values = [], []
        for share, role in zip(shares, ('baseline', 'ssa')):
            model = html.escape(models[role]['name'])
            fill = (HATCH_CSS if role == 'ssa' else '') + colours[name]
            tip = f'{html.escape(name)}: {share:.2f}% ({model})'
            bars.append(f'<span class="ssa-share-bar" data-role="{role}" title="{tip}" '
                        f'style="{bar_style}width:{100 * share / largest:.2f}%;'
                        f'background:{fill};"></span>')
            values.append(f'{share:.2f}')
        body.append(f'<tr><td style="{cell}padding-right:8px">{html.escape(name)}</td>'
                    f'<td style="{cell}width:100%">{"".join(bars)}</td>'
                    f'<td style="{cell}padding-left:8px;text-align:right">'
                    f'{" / ".join(values)}</td></tr>')
    key = ' &nbsp; '.join(
        _swatch('#999999', hatched=role == 'ssa') + html.escape(models[role]['name'])
        for role in ('baseline', 'ssa'))
    return (f'<div class="ssa-share" style="padding-top:26px"><div style="margin-bottom:4px">'
            f'{key} &nbsp; '
            '<span style="color:#666">(% of the image)</span></div>'
            f'<table style="width:100%;border-collapse:collapse">{"".join(body)}</table></div>')


INSPECTOR_HINT = ('<div class="ssa-inspector-hint"><em>Click a pixel of a mask, the ground '
                  'truth or the map to see why the models decided it.</em></div>')


def _prob_rows(probs, palette) -> str:
    return ''.join(
        f'<tr data-class="{html.escape(p.name)}"><td>'
        f'{_swatch(hex_colour(palette[p.class_index]) if palette else "#fff")}'
        f'{html.escape(p.name)}</td><td class="ssa-num">{100 * p.prob:.1f}%</td></tr>'
        for p in probs)


def inspector_html(report, palette: Optional[Sequence] = None) -> str:
    """The pixel inspector's panel for an ``analysis.inspect.PixelReport``: the sentence,
    each model's top classes (and SSA-Seg's coarse mask's), and the cosines of the classes
    listed. ``data-*`` attributes carry the pixel for tests and scripts."""
    y, x = report.pixel
    gt = html.escape(report.gt) if report.gt is not None else '(no label here)'
    columns = [('baseline', f'Baseline: {report.baseline.name}', report.baseline.top),
               ('ssa', f'SSA-Seg: {report.ssa.name}', report.ssa.top)]
    if report.ssa.coarse_top is not None:
        columns.append(('coarse', 'SSA-Seg coarse mask (fixed prototypes)',
                        report.ssa.coarse_top))
    tables = ''.join(
        f'<table class="ssa-top" data-role="{role}"><caption>{html.escape(title)}</caption>'
        f'{_prob_rows(probs, palette)}</table>' for role, title, probs in columns)
    cosines = ''
    if report.ssa.classes:
        rows = ''.join(f'<tr data-class="{html.escape(c.name)}"><td>{html.escape(c.name)}</td>'
                       f'<td class="ssa-num">{c.cos_fixed:.3f}</td>'
                       f'<td class="ssa-num">{c.cos_center:.3f}</td></tr>'
                       for c in report.ssa.classes)
        cosines = ('<table class="ssa-cos"><caption>Cosine to this pixel</caption><tr><th>'
                   'class</th><th title="cos(F, S_k): where the coarse mask decides">fixed '
                   'prototype</th><th title="cos(F + Pf, centre_k): where SSA-Seg decides">'
                   f'adapted centre</th></tr>{rows}</table>')
    return (f'<div class="ssa-inspector" data-row="{y}" data-col="{x}">'
            f'<div class="ssa-inspector-head"><strong>Pixel (row {y}, column {x})</strong> of '
            f'{report.image_size[0]} x {report.image_size[1]} &middot; ground truth: {gt}</div>'
            f'<p class="ssa-sentence">{html.escape(report.sentence)}</p>'
            f'<div class="ssa-inspector-tables">{tables}{cosines}</div></div>')
