"""The Segment tab: image and label inputs, both models' masks in the viewer, the tables.

:func:`build_segment_tab` makes the widgets (inside the page's Blocks);
:meth:`SegmentTab.connect` wires the tab's own events. :func:`segment` is the run behind the
page's segment events, :meth:`SegmentTab.details` the tables filled after it.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable, List, Optional

import gradio as gr

from analysis import io as image_io

from .. import views
from ..components import uploaded_file, uploaded_image
from ..errors import message_html
from ..files import path_of
from ..pairs import PairRegistry
from ..services import ComparisonRun, Progress, done_with, inspect_pixel
from ..state import SegmentView
from ..viewer import ALL_CLASSES, MAP_DIFFER, MAP_ERRORS, render_view

LABEL_FILE_TYPES = list(image_io.LABEL_SUFFIXES)


@dataclass
class SegmentTab:
    image_in: gr.Image
    label_in: gr.File
    run_button: gr.Button
    opacity: gr.Slider
    map_kind: gr.Radio
    class_filter: gr.Dropdown
    message: gr.HTML
    viewer: gr.HTML
    inspector: gr.HTML              # the pixel inspector's panel (elem_id pixel-inspector)
    timing: gr.Markdown
    example_table: Optional[gr.Examples]
    share_plot: gr.HTML
    share_table: gr.Dataframe
    iou_table: gr.Dataframe
    mask_files: gr.File
    stats_out: gr.JSON
    view: gr.State                  # the run shown (a SegmentView), per session
    # True while the label in ``label_in`` was uploaded with no image shown: it is for the
    # next image. Otherwise a label belongs to the image it came with (its example, its
    # gallery entry, or the image shown when it was uploaded).
    label_loose: gr.State
    label_dropped: gr.State         # True when a new image has just dropped the label
    # the pixel last clicked in the viewer: (row, column) at the processing size, or None;
    # the inspector fills its panel from it and the Analysis tab marks it in the t-SNE
    inspected: gr.State

    @property
    def outputs(self) -> list:
        """What a segment run fills (see :func:`segment`), in its order."""
        return [self.message, self.viewer, self.timing, self.view, self.label_in,
                self.class_filter, self.label_loose, self.label_dropped, self.inspector,
                self.inspected]

    def details(self, view: Optional[SegmentView]) -> dict:
        """The tables of the run in ``view`` (cleared without one)."""
        if not view:
            return {self.share_plot: '', self.share_table: None, self.iou_table: None,
                    self.mask_files: None, self.stats_out: None}
        numbers = view.stats
        return {self.share_plot: views.pixel_share_html(numbers, view.palette),
                self.share_table: views.share_rows(numbers),
                self.iou_table: views.iou_rows(numbers) or None,
                self.mask_files: view.mask_files, self.stats_out: numbers}

    def connect_redraws(self) -> None:
        """Redraws without the models: opacity (mouse, keyboard and the number box all
        change the value), the map kind and the class filter; zoom and pan are kept."""
        gr.on([self.opacity.change, self.map_kind.input, self.class_filter.input],
              fn=render_view, inputs=[self.view, self.opacity, self.map_kind,
                                      self.class_filter],
              outputs=self.viewer, api_visibility='private', concurrency_id='redraw',
              concurrency_limit=4, trigger_mode='always_last', show_progress='hidden')

    def connect_inspector(self, registry: PairRegistry) -> None:
        """A click on a pixel of the viewer (its ``select`` event carries {row, col}) fills
        the inspector from what the segmentation kept: no model runs (unless the memory
        bound dropped this image's data, see ``app.services.inspect_pixel``)."""
        def on_pixel(view, evt: gr.EventData):
            at = evt._data or {}
            try:
                report = inspect_pixel(registry, view, at.get('row'), at.get('col'))
            except gr.Error as err:
                return message_html(err.title or 'Error', err.message), gr.skip()
            return views.inspector_html(report, view.palette), tuple(report.pixel)

        self.viewer.select(on_pixel, self.view, [self.inspector, self.inspected],
                           api_visibility='private', concurrency_id='inspect',
                           concurrency_limit=4, trigger_mode='always_last',
                           show_progress='hidden')


LABEL_OF_PREVIOUS = ('the label came with the previous image, so this one is shown without '
                     'ground truth; upload its own label to score it.')


def cleared(text: str = '', title: str = '') -> list:
    """A run's outputs when it shows no result: the message (if any), nothing else."""
    return [message_html(title, text), '', '', None, gr.skip(),
            gr.update(choices=[ALL_CLASSES], value=ALL_CLASSES), gr.skip(), False, '', None]


def drop_stale_label(label_path, loose: bool):
    """A new image (upload or paste): a label that belongs to an earlier image is taken
    out of the label input before the run; a loose one (uploaded with no image shown)
    stays for this image. Returns (label input, label dropped)."""
    if label_path and not loose:
        return None, True
    return gr.skip(), False


def timing_markdown(run: ComparisonRun) -> str:
    notes = '; '.join(run.image.notes)
    return (f'**Inference time** {views.timing_text(run.stats)} &nbsp; '
            f'**Disagreement** {100 * run.stats["disagreement_fraction"]:.1f}% '
            f'of the pixels' + (f'  \n_{html.escape(notes)}_' if notes else ''))


def segment(registry: PairRegistry, image_path, label_path, pair_name, alpha, kind,
            dropped: bool = False, progress: Optional[Progress] = None) -> list:
    """One run of the page: [message, viewer, timing, view, label input, class filter,
    label loose, label dropped, inspector, inspected pixel] (:attr:`SegmentTab.outputs`).
    ``dropped``: a new image has just taken the previous image's label out
    (:func:`drop_stale_label`); the run says so.
    A run shows its one message (or none) and either all new results or none: a failure
    clears what the previous image left. Errors are returned, not raised, so that Gradio
    does not paint an "Error" badge on every output."""
    if not image_path:      # no image: clear the results, no message; a label waits for one
        outputs = cleared()
        outputs[6] = bool(label_path)
        return outputs
    try:
        run = ComparisonRun(registry, image_path, path_of(label_path), pair_name,
                            drop_bad_label=True, progress=progress)
    except gr.Error as err:
        return cleared(err.message, err.title or 'Error')
    note = ''
    if run.label_problem or dropped:
        problem = run.label_problem or LABEL_OF_PREVIOUS
        note = message_html('Label removed', html.escape(problem, quote=False), 'note')
    view = run.view_state()
    timing = timing_markdown(run)
    classes = [ALL_CLASSES] + [view.classes[i] for i in view.present
                               if i < len(view.classes)]
    done_with(run)
    return [note, render_view(view, alpha, kind), timing, view,
            None if note else gr.skip(), gr.update(choices=classes, value=ALL_CLASSES),
            False, False, views.INSPECTOR_HINT, None]


def segment_handler(registry: PairRegistry) -> Callable:
    def on_segment(image_path, label_path, pair_name, alpha, kind, dropped=False,
                   progress=gr.Progress()):
        return segment(registry, image_path, label_path, pair_name, alpha, kind, dropped,
                       progress)
    return on_segment


def _inputs_column():
    image_in = uploaded_image(label='Image', sources=['upload', 'clipboard'], height=180,
                              elem_id='image-input', buttons=['fullscreen'])
    label_in = uploaded_file(label='Ground-truth label (optional, PNG of class indices)',
                             file_types=LABEL_FILE_TYPES, elem_id='label-input', height=70)
    run_button = gr.Button('Segment', variant='primary', elem_id='segment-button')
    opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label='Mask opacity',
                        elem_id='opacity')
    map_kind = gr.Radio([MAP_DIFFER, MAP_ERRORS], value=MAP_DIFFER, label='Map',
                        elem_id='map-kind')
    class_filter = gr.Dropdown([ALL_CLASSES], value=ALL_CLASSES, label='Show one class only',
                               interactive=True, elem_id='class-filter')
    return image_in, label_in, run_button, opacity, map_kind, class_filter


def _tables():
    with gr.Row():
        share_plot = gr.HTML('', label='Pixel share per class', show_label=True,
                             container=True, elem_id='share-plot')
        with gr.Column():
            share_table = gr.Dataframe(headers=['class', 'baseline %', 'SSA-Seg %'],
                                       label='Pixel share per class', interactive=False)
            iou_table = gr.Dataframe(headers=['class', 'baseline IoU %', 'SSA-Seg IoU %'],
                                     label='IoU vs the label (needs a label)',
                                     interactive=False, elem_id='iou-table')
    mask_files = gr.File(label='Masks at the image size (indexed PNG)', file_count='multiple',
                         interactive=False, elem_id='mask-files')
    with gr.Accordion('Statistics (JSON)', open=False):
        stats_out = gr.JSON(label='Statistics')
    return share_plot, share_table, iou_table, mask_files, stats_out


def build_segment_tab(examples: List[list]) -> SegmentTab:
    """The tab, inside the Blocks being built (call it inside ``gr.Blocks``)."""
    with gr.Tab('Segment'):
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=260):
                inputs = _inputs_column()
            with gr.Column(scale=4):
                message = gr.HTML('', elem_id='message')
                viewer = gr.HTML('', elem_id='viewer', js_on_load=views.VIEWER_JS,
                                 css_template=views.VIEWER_CSS, padding=False)
                inspector = gr.HTML('', elem_id='pixel-inspector', padding=False,
                                    css_template=views.INSPECTOR_CSS)
                timing = gr.Markdown(elem_id='timing')
                # the examples sit under the results: before the first run they are at the
                # top of this column, after it the masks are (1366 x 768 shows them
                # without scrolling)
                with gr.Accordion('Examples (SynthScenes val, with labels)', open=True,
                                  elem_id='examples'):
                    example_table = gr.Examples(
                        examples, inputs=list(inputs[:2]), label=None,
                        examples_per_page=4) if examples else None
        tables = _tables()
    return SegmentTab(*inputs, message, viewer, inspector, timing, example_table, *tables,
                      gr.State(None), gr.State(False), gr.State(False), gr.State(None))
