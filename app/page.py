"""The page: the Blocks, its header, every tab built first, then the events that cross tabs.

Each tab is built by its module in ``app.tabs`` (widgets returned in a dataclass); this
module wires a segment run to what it fills in every tab, and the queue lanes.

Two lanes of model work, so that one user's figures do not hold up everyone's segmentation:
segmentation (the Segment tab, ``/compare``: ``MODEL_QUEUE``, ``model_concurrency`` at once)
and analysis (the Analysis tab's figures, set-level figures, ``/figures``, ``/shift``:
``ANALYSIS_QUEUE``, one at a time, in :mod:`app.lanes`' thread at a lower CPU priority).
They run on the same models at once, which is safe:
inference and feature extraction keep no state on the model (``tests/test_concurrency.py``).
Measured with the demo pair (``bench/bench_app.py``, README "The app").
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import gradio as gr

from analysis import io as image_io

from .api import build_api
from .files import asset
from .pairs import PairRegistry
from .services import EXAMPLES_DIR, list_examples
from .tabs.analysis import AnalysisTab, build_analysis_tab, class_choices
from .tabs.dataset import build_dataset_tab
from .tabs.models import ModelsTab, build_models_tab
from .tabs.segment import (
    SegmentTab,
    build_segment_tab,
    cleared,
    drop_stale_label,
    segment_handler,
)

__all__ = ['EXAMPLES_DIR', 'build_demo']

MODEL_QUEUE = 'models'              # segmentation events share this queue lane
ANALYSIS_QUEUE = 'analysis'         # figures: their own lane, one at a time (memory bound)
CACHE_CLEANUP = (600, 3600)         # every 10 min, delete our temporary files older than 1 h


def header(upload_limit: str) -> str:
    return ('**SSA-Seg Studio**: baseline vs SSA-Seg (NeurIPS 2024) on your image. Images '
            f'over {image_io.MAX_PROCESSING_SIDE} px are segmented at that size (statistics '
            f'at full size); over {image_io.MAX_IMAGE_PIXELS // 1_000_000} megapixels or '
            f'{upload_limit.upper()} they are refused. See the Models tab for what the '
            'models know.')


def connect_segment_runs(registry: PairRegistry, segment: SegmentTab, analysis: AnalysisTab,
                         models: ModelsTab, pair_choice: gr.Dropdown, dataset_tab,
                         model_lane: dict) -> None:
    """A run of the Segment tab, then what it fills in the other tabs."""
    detail_outputs = [segment.share_plot, segment.share_table, segment.iou_table,
                      segment.mask_files, segment.stats_out, analysis.figures_for,
                      analysis.class_choice, *analysis.figure_plots, analysis.figure_data,
                      analysis.figure_files, models.info]

    def on_details(view):
        return {**segment.details(view), **analysis.details(view),
                **models.details(registry)}

    # Triggered by user actions only (click, upload, clear, choosing a pair or an
    # example), so that clearing the label from ``on_segment`` starts no second run.
    segment_event = dict(fn=segment_handler(registry),
                         inputs=[segment.image_in, segment.label_in, pair_choice,
                                 segment.opacity, segment.map_kind, segment.label_dropped],
                         outputs=segment.outputs, api_visibility='private', **model_lane)
    details_event = dict(fn=on_details, inputs=segment.view, outputs=detail_outputs,
                         api_visibility='private', concurrency_id='details',
                         concurrency_limit=4)
    gr.on([segment.run_button.click, segment.label_in.upload, segment.label_in.clear,
           pair_choice.input], trigger_mode='always_last',
          **segment_event).then(**details_event)
    # a new image (uploaded or pasted: both are ``upload``) first drops a label that came
    # with an earlier image; examples and gallery entries set their own label
    segment.image_in.upload(drop_stale_label, [segment.label_in, segment.label_loose],
                            [segment.label_in, segment.label_dropped],
                            api_visibility='private', queue=False, trigger_mode='always_last'
                            ).then(**segment_event).then(**details_event)
    segment.image_in.clear(cleared, None, segment.outputs, api_visibility='private',
                           queue=False).then(**details_event)
    if segment.example_table is not None:
        # the example table is below the results: bring the results back into view
        example_run = segment.example_table.load_input_event.success(**segment_event)
        example_run.then(**details_event)
        example_run.then(None, js="() => document.querySelector('#viewer')?.scrollIntoView("
                                  "{block: 'start', behavior: 'instant'})")
    dataset_tab.connect(segment.image_in, segment.label_in, segment_event, details_event)
    dataset_tab.connect_drilldown(segment.image_in, segment.label_in, segment_event,
                                  details_event)


def build_demo(registry: PairRegistry, *, examples_dir: Path = EXAMPLES_DIR,
               model_concurrency: int = 1, upload_limit: str = '20mb',
               dataset_report: Optional[dict] = None) -> gr.Blocks:
    """The Blocks app. ``model_concurrency``: model calls running at once (CPU-bound);
    ``upload_limit``: stated in the page (enforced by ``launch(max_file_size=...)``);
    ``dataset_report``: the Dataset tab's report (``app.tabs.dataset.find_report``)."""
    model_lane = dict(concurrency_id=MODEL_QUEUE, concurrency_limit=model_concurrency)
    analysis_lane = dict(concurrency_id=ANALYSIS_QUEUE, concurrency_limit=1)
    with gr.Blocks(title='SSA-Seg Studio', analytics_enabled=False,
                   delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(header(upload_limit))
        pair_choice = gr.Dropdown(registry.names, value=registry.default, label='Model pair',
                                  visible=len(registry.names) > 1, interactive=True)
        segment = build_segment_tab(list_examples(examples_dir))
        analysis = build_analysis_tab(class_choices(registry, registry.default))
        dataset_tab = build_dataset_tab(dataset_report)
        models = build_models_tab(registry)
        api = build_api(registry)

        connect_segment_runs(registry, segment, analysis, models, pair_choice, dataset_tab,
                             model_lane)
        # the upload widget's preview is drawn only for images the server would accept:
        # a 144-megapixel PNG otherwise costs the browser seconds of decoding first
        demo.load(None, js=f'() => ({asset("preview_guard.js")})({image_io.MAX_IMAGE_PIXELS})',
                  api_visibility='private', queue=False)
        segment.connect_redraws()
        segment.connect_inspector(registry)
        analysis.connect(registry, segment.view, pair_choice, model_lane, analysis_lane,
                         inspected=segment.inspected)
        api.connect(registry, model_lane, analysis_lane)
    return demo
