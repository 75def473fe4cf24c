"""The documented API: ``/compare``, ``/inspect``, ``/figures`` and ``/shift`` (for
``gradio_client``).

Their widgets live in a hidden group of the page; the computations are
:func:`app.services.api_compare`, :func:`app.services.api_inspect`,
:func:`app.services.api_figures` and :func:`app.services.api_shift`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import gradio as gr

from .components import uploaded_file, uploaded_image
from .lanes import in_analysis_thread
from .pairs import PairRegistry
from .services import api_compare, api_figures, api_inspect, api_shift

COMPARE_DOC = (
    'Segment an image with the baseline and the SSA-Seg model. Inputs: image; optional '
    'ground-truth label (PNG of class indices, 255 = ignore), model pair name and overlay '
    'opacity. Returns the baseline overlay, the SSA-Seg overlay, the disagreement map, the '
    'statistics (pixel share per class, inference times, and with a label per-class IoU and '
    'mIoU) as JSON, and the two class-index masks (indexed PNG at the image size).')
FIGURES_DOC = (
    'The analysis figures of an image (the Analysis tab): inputs image; optional ground-truth '
    'label, model pair name and a class to highlight (empty: each figure\'s default). Returns '
    'every per-image figure as a PNG file (paper version, named <image>_<model>_<figure>.png, '
    'with the .json numbers of the figures that have them) and the prototype-shift numbers '
    'as JSON.')
INSPECT_DOC = (
    'Why the models decided one pixel (the pixel inspector): inputs image, y (row) and x '
    '(column) in the image\'s own pixels; optional ground-truth label and model pair name. '
    'Returns JSON: {pixel, image_size, gt, baseline: {name, top: [{class, prob}] x5}, ssa: '
    '{name, top, coarse_top, classes: [{class, cos_fixed, cos_center}]}, sentence}: the '
    'softmax of each model\'s logits at the pixel, the SSA-Seg coarse mask\'s, and the '
    'cosines of the pixel\'s feature to the fixed prototypes and adapted centres.')
SHIFT_DOC = (
    'The prototype-shift numbers of the SSA-Seg model on an image (as `python -m analysis '
    'shift --json`): inputs image; optional ground-truth label and model pair name.')


@dataclass
class ApiWidgets:
    image: gr.Image
    label: gr.File
    pair: gr.Dropdown
    opacity: gr.Slider
    compare_outputs: List[gr.components.Component]
    compare_button: gr.Button
    class_name: gr.Textbox
    figure_files: gr.File
    shift_json: gr.JSON
    figures_button: gr.Button
    shift_button: gr.Button
    y: gr.Number
    x: gr.Number
    inspect_json: gr.JSON
    inspect_button: gr.Button

    def connect(self, registry: PairRegistry, model_lane: dict, analysis_lane: dict) -> None:
        """The endpoints; ``*_lane``: the queue settings of their kind of work."""
        def compare_endpoint(image, label=None, pair=registry.default, opacity=0.5):
            return api_compare(registry, image, label, pair, opacity)

        @in_analysis_thread
        def figures_endpoint(image, label=None, pair=registry.default, class_name=''):
            return api_figures(registry, image, label, pair, class_name)

        @in_analysis_thread
        def shift_endpoint(image, label=None, pair=registry.default):
            return api_shift(registry, image, label, pair)

        def inspect_endpoint(image, y, x, label=None, pair=registry.default):
            return api_inspect(registry, image, y, x, label, pair)

        self.compare_button.click(
            compare_endpoint, [self.image, self.label, self.pair, self.opacity],
            self.compare_outputs, api_name='compare', api_description=COMPARE_DOC,
            **model_lane)
        self.figures_button.click(
            figures_endpoint, [self.image, self.label, self.pair, self.class_name],
            [self.figure_files, self.shift_json], api_name='figures',
            api_description=FIGURES_DOC, **analysis_lane)
        self.shift_button.click(
            shift_endpoint, [self.image, self.label, self.pair], self.shift_json,
            api_name='shift', api_description=SHIFT_DOC, **analysis_lane)
        self.inspect_button.click(
            inspect_endpoint, [self.image, self.y, self.x, self.label, self.pair],
            self.inspect_json, api_name='inspect', api_description=INSPECT_DOC, **model_lane)


def build_api(registry: PairRegistry) -> ApiWidgets:
    """The endpoints' widgets, not shown in the page (call it inside ``gr.Blocks``)."""
    pair_names = registry.names
    with gr.Group(visible=False):
        image = uploaded_image(label='image')
        label = uploaded_file(label='label', value=None)
        pair = gr.Dropdown(pair_names, value=registry.default, label='pair')
        opacity = gr.Slider(0.0, 1.0, value=0.5, label='opacity')
        outputs = [gr.Image(label='baseline_overlay', format='png'),
                   gr.Image(label='ssa_overlay', format='png'),
                   gr.Image(label='disagreement', format='png'),
                   gr.JSON(label='statistics'),
                   gr.File(label='baseline_mask'),
                   gr.File(label='ssa_mask')]
        compare_button = gr.Button('compare')
        # /figures and /shift share the image, label and pair widgets
        class_name = gr.Textbox(value='', label='class_name')
        figure_files = gr.File(label='figures', file_count='multiple')
        shift_json = gr.JSON(label='shift')
        figures_button = gr.Button('figures')
        shift_button = gr.Button('shift')
        y, x = gr.Number(label='y', precision=0), gr.Number(label='x', precision=0)
        inspect_json = gr.JSON(label='inspection')
        inspect_button = gr.Button('inspect')
    return ApiWidgets(image, label, pair, opacity, outputs, compare_button, class_name,
                      figure_files, shift_json, figures_button, shift_button, y, x,
                      inspect_json, inspect_button)
