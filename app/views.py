"""What only the page shows: the legend's HTML, table rows, the pixel-share chart, timing text.

Every number comes from :func:`analysis.stats.comparison_statistics`; these functions only
lay it out for Gradio widgets.
"""
from __future__ import annotations

import html
from typing import List, Mapping, Sequence

from analysis.colour import hex_colour, palette_array


def legend_html(entries: Sequence[Mapping]) -> str:
    """The legend as a small HTML block of colour swatches (names are escaped)."""
    if not entries:
        return '<div class="ssa-legend"><em>no classes</em></div>'
    items = ''.join(
        '<span class="ssa-legend-item" style="display:inline-flex;align-items:center;'
        'margin:2px 10px 2px 0;">'
        f'<span style="display:inline-block;width:14px;height:14px;border:1px solid #555;'
        f'margin-right:5px;background:{html.escape(e["color"])};"></span>'
        f'{html.escape(str(e["name"]))}</span>' for e in entries)
    return f'<div class="ssa-legend">{items}</div>'

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

def pixel_share_figure(stats: Mapping, palette, min_share: float = 0.0):
    """Grouped horizontal bars: per-class pixel share (%) of baseline and SSA-Seg (plotly)."""
    import plotly.graph_objects as go

    rows = share_rows(stats, min_share)
    names = [r[0] for r in rows]
    table = palette_array(palette, len(stats['classes']))
    colours = {n: hex_colour(table[i]) for i, n in enumerate(stats['classes'])}
    models = stats['models']
    fig = go.Figure()
    for column, role, pattern in ((1, 'baseline', ''), (2, 'ssa', '/')):
        fig.add_trace(go.Bar(
            y=names, x=[r[column] for r in rows], orientation='h', name=models[role]['name'],
            marker=dict(color=[colours[n] for n in names], pattern_shape=pattern,
                        line=dict(color='#333333', width=1)),
            hovertemplate='%{y}: %{x:.2f}%<extra>' + html.escape(models[role]['name'])
                          + '</extra>'))
    fig.update_layout(barmode='group', template='plotly_white',
                      height=max(220, 60 + 34 * len(names)),
                      xaxis_title='share of the image (%)', yaxis=dict(autorange='reversed'),
                      legend=dict(orientation='h', yanchor='bottom', y=1.02, x=0),
                      margin=dict(l=10, r=10, t=50, b=40))
    return fig
