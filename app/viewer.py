"""The Segment tab's viewer: both overlays, the ground truth when there is a label and the
map (disagreement or error map), drawn by ``analysis.colour`` and laid out by
:func:`app.views.viewer_html`."""
from __future__ import annotations

from typing import Optional

from analysis import colour

from . import views
from .files import png_bytes
from .state import SegmentView

ALL_CLASSES = '(all classes)'       # the class filter's "no filter"
MAP_DIFFER = 'where the models differ'
MAP_ERRORS = 'error map (needs a label)'


def render_view(view: Optional[SegmentView], opacity: float = 0.5, map_kind: str = MAP_DIFFER,
                class_filter: Optional[str] = None) -> str:
    """The viewer's HTML for a comparison kept in ``view``: both overlays, the ground truth
    when there is a label, and the map (disagreement or error map), all drawn by
    ``analysis.colour``; ``class_filter`` shows one class's pixels only."""
    if not view:
        return ''
    work, (base_mask, ssa_mask), label = view.work, view.masks, view.label
    palette, k, hatched = view.palette, view.num_classes, view.hatched or ()
    keep = None
    if class_filter not in (None, '', ALL_CLASSES) and class_filter in view.classes:
        keep = [view.classes.index(class_filter)]
    alpha = 0.5 if opacity is None else float(opacity)

    def painted(mask):
        return png_bytes(colour.overlay(work, colour.keep_classes(mask, keep), palette, alpha,
                                        k, hatched=hatched))

    names = view.model_names
    index = k <= 255          # hover reads grey levels: one byte per class index
    panels = [dict(id='baseline-mask', title=f'Baseline: {names["baseline"]}',
                   png=painted(base_mask), role='baseline',
                   index_png=png_bytes(base_mask) if index else None),
              dict(id='ssa-mask', title=f'SSA-Seg: {names["ssa"]}', png=painted(ssa_mask),
                   role='SSA-Seg', index_png=png_bytes(ssa_mask) if index else None)]
    if label is not None:
        panels.append(dict(id='gt-mask', title='Ground truth', png=painted(label),
                           role='ground truth', index_png=png_bytes(label) if index else None))
    errors = map_kind == MAP_ERRORS and label is not None
    if errors:
        picture = colour.error_map(work, base_mask, ssa_mask, label)
        title = 'Which model is right'
    else:
        picture = colour.disagreement_image(work, base_mask, ssa_mask)
        title = 'Where the models differ'
    panels.append(dict(id='map-view', title=title, png=png_bytes(picture)))
    shown = view.present if keep is None else keep
    legend = views.legend_html(colour.legend_entries(view.classes, palette, shown))
    map_key = views.map_legend_html('error' if errors else 'differ', view.breakdown)
    if map_kind == MAP_ERRORS and label is None:
        map_key += '<div class="ssa-map-key"><em>The error map needs a ground-truth label; ' \
                   'showing where the models differ.</em></div>'
    return views.viewer_html(panels, work.shape[:2], view.classes, view.key,
                             legend=legend, map_key=map_key)
