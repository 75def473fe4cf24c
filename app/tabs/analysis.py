"""The Analysis tab: the paper's figures for the image segmented in the Segment tab, their
options (each figure kind's declared options, the data its command-line flags come from),
paper exports, set-level figures.

The computations are :mod:`app.services` and :mod:`app.export`; this module builds the
widgets (:func:`build_analysis_tab`), turns the option widgets' values into each kind's
keyword options (:func:`options_by_kind`) and wires the tab's events.

The t-SNE is linked to the image beside it (:func:`linked_image_html`, ``tsne_link.js``):
a selection of points outlines their feature cells on the image, and the pixel inspected
in the Segment tab is marked in the t-SNE (:func:`analysis.figures.tsne.mark_pixel`). The
geometry (each point's cell and pixel box) comes from :mod:`analysis`; the page only draws.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import gradio as gr

from analysis.figures import WidgetSpec, image_kinds, option_widget_specs, set_kinds
from analysis.figures.tsne import tsne_plotly

from ..errors import user_error
from ..export import FIGURE_FORMATS, download_all
from ..files import asset, png_bytes
from ..lanes import in_analysis_thread
from ..pairs import PairError, PairRegistry
from ..services import AUTO_CLASS, analysis_figures, set_figure
from ..state import ImageView, SegmentView
from ..views import data_uri

DEFAULT_OPTION = '(default)'
LINKED_KIND = 'tsne'            # the figure kind whose points are linked to the image
LINKED_JS = asset('tsne_link.js')
LINKED_CSS = asset('tsne_link.css')


def figure_options() -> List[WidgetSpec]:
    """Every per-image figure kind's option widgets, in ``FIGURES`` order: made from each
    kind's declared options (``FigureKind.options``), the data its CLI flags come from."""
    return [spec for kind in image_kinds().values() for spec in option_widget_specs(kind)]


def option_widget(spec: WidgetSpec):
    info = spec.info or None
    if spec.widget == 'dropdown':
        choices = list(spec.choices)
        value = spec.value if spec.value in choices else DEFAULT_OPTION
        if value == DEFAULT_OPTION:
            choices = [DEFAULT_OPTION] + choices
        return gr.Dropdown(choices, value=value, label=spec.label, info=info)
    if spec.widget == 'number':
        return gr.Number(value=spec.value, label=spec.label, info=info, precision=spec.precision)
    return gr.Textbox(value=spec.value, label=spec.label, info=info)


def options_by_kind(specs: Sequence[WidgetSpec], values: Sequence) -> Dict[str, dict]:
    """The figure functions' keyword options from the widgets' values, checked by each kind's
    own ``option_values`` (the CLI's checks and messages)."""
    given: Dict[str, dict] = {name: {} for name in image_kinds()}
    for spec, value in zip(specs, values):
        if value is None or value == '' or value == DEFAULT_OPTION:
            continue
        given[spec.kind][spec.name] = value
    result = {}
    for name, kind in image_kinds().items():
        try:
            result[name] = kind.option_values(given[name])
        except ValueError as err:
            raise user_error(f'{name}: {err}', 'Figure options') from None
    return result


def figures_caption(view: Optional[ImageView]) -> str:
    """Which image (and models) the Analysis tab's figures are for."""
    if not view:
        return '_No image yet: segment one in the Segment tab._'
    height, width = view.size
    names = view.model_names
    label = 'with its ground-truth label' if view.label is not None else 'no label'
    return (f'Figures for **{html.escape(view.name)}** ({width} x {height}, {label}); '
            f'models {html.escape(names["baseline"])} (baseline) and '
            f'{html.escape(names["ssa"])} (SSA-Seg).')


def inspected_pixel(pixel, view: Optional[ImageView]) -> Optional[Tuple[int, int]]:
    """The inspected pixel (row, column) at the processing size when it lies in the image of
    ``view``, else None (nothing inspected yet, or a pixel of an earlier, larger image)."""
    if not view or pixel is None:
        return None
    try:
        y, x = (int(v) for v in pixel)
    except (TypeError, ValueError):
        return None
    height, width = view.work.shape[:2]
    return (y, x) if 0 <= y < height and 0 <= x < width else None


def linked_image_html(view: Optional[ImageView], pixel: Optional[Tuple[int, int]] = None,
                      plot_id: str = f'{LINKED_KIND}-plot') -> str:
    """The processing-size image shown beside the t-SNE, with an empty layer that
    ``tsne_link.js`` fills with the selected points' cells (from their customdata) and a ring
    on the inspected pixel. Empty without an image."""
    if not view:
        return ''
    height, width = view.work.shape[:2]
    ring = ''
    if pixel is not None:
        y, x = pixel
        ring = (f'<div class="tsne-link-inspected" title="inspected pixel (y={y}, x={x})" '
                f'style="top:{100 * (y + 0.5) / height:.4f}%;'
                f'left:{100 * (x + 0.5) / width:.4f}%"></div>')
    inspected = '' if pixel is None else f' data-inspected="{pixel[0]},{pixel[1]}"'
    return (f'<div class="tsne-link" data-plot="{html.escape(plot_id)}" data-width="{width}" '
            f'data-height="{height}" data-selected=""{inspected}>'
            f'<div class="tsne-link-pane" style="aspect-ratio:{width}/{height}">'
            f'<img alt="{html.escape(view.name)} at the processing size" draggable="false" '
            f'src="{data_uri(png_bytes(view.work))}">'
            f'<div class="tsne-link-boxes"></div>{ring}</div>'
            '<div class="tsne-link-count"></div></div>')


def marked_figures(figures: Sequence, data: dict, view: Optional[ImageView], pixel) -> list:
    """The computed figures (``FIGURES`` order) with the inspected pixel marked in the
    t-SNE, and the linked image for them."""
    figures = list(figures)
    pixel = inspected_pixel(pixel, view)
    if pixel is not None:               # drawn again: the figure given stays as it was
        figures[list(image_kinds()).index(LINKED_KIND)] = _tsne_marked(data[LINKED_KIND],
                                                                      pixel)
    return figures + [linked_image_html(view, pixel)]


def _tsne_marked(data, pixel):
    """The t-SNE with ``pixel`` marked; unmarked when the pixel is not on the figures' image
    (a new image segmented while these figures are still shown)."""
    try:
        return tsne_plotly(data, pixel)
    except ValueError:
        return tsne_plotly(data)


def remark(data: Optional[dict], view: Optional[ImageView], pixel):
    """A new inspected pixel: the t-SNE redrawn with its marker, and the linked image
    (nothing to do before the figures are computed)."""
    if not data or LINKED_KIND not in data:
        return gr.skip(), gr.skip()
    pixel = inspected_pixel(pixel, view)
    return _tsne_marked(data[LINKED_KIND], pixel), linked_image_html(view, pixel)


def class_choices(registry: PairRegistry, pair_name: Optional[str]) -> List[str]:
    try:
        return [AUTO_CLASS] + list(registry.get(pair_name).classes)
    except PairError:
        return [AUTO_CLASS]


@dataclass
class AnalysisTab:
    figures_for: gr.Markdown
    figure_data: gr.State           # the figures' data objects by kind, for the export
    class_choice: gr.Dropdown
    analyse_button: gr.Button
    options: List[WidgetSpec]
    option_widgets: list
    figure_plots: List[gr.Plot]
    formats: gr.CheckboxGroup
    export_button: gr.Button
    figure_files: gr.File
    set_choice: gr.Dropdown
    set_button: gr.Button
    set_plot: gr.Plot
    set_caption: gr.Markdown
    linked_image: gr.HTML           # the image beside the t-SNE (tsne_link.js)

    def details(self, view: Optional[SegmentView]) -> dict:
        """A new image in the Segment tab: its caption and classes; the figures of the
        previous image are cleared."""
        present = [AUTO_CLASS]
        if view:
            present += [view.classes[i] for i in view.present if i < len(view.classes)]
        stale = {plot: None for plot in self.figure_plots}
        return {self.figures_for: figures_caption(view),
                self.class_choice: gr.update(choices=present, value=AUTO_CLASS),
                **stale, self.figure_data: None, self.figure_files: None}

    def connect(self, registry: PairRegistry, view: gr.State, pair_choice: gr.Dropdown,
                model_lane: dict, lane: dict, inspected: Optional[gr.State] = None) -> None:
        """The tab's events; ``lane``: the queue settings of the figures, ``model_lane``
        those of the segmentation (a pair chosen is loaded there). ``inspected``: the pixel
        (row, column) inspected in the Segment tab, marked in the t-SNE when the figures are
        computed and whenever it changes."""
        options = self.options
        pixel_state = inspected if inspected is not None else gr.State(None)

        @in_analysis_thread
        def on_analyse(state, pixel, name, *values, progress=gr.Progress()):
            *figures, data = analysis_figures(registry, state, name,
                                              options_by_kind(options, values), progress)
            figures = marked_figures(figures, data, state, pixel)
            return (*figures[:-1], data, figures[-1])

        @in_analysis_thread
        def on_set_figure(name, pair):
            return set_figure(registry, pair, name)

        def on_pair(pair_name):
            return gr.update(choices=class_choices(registry, pair_name), value=AUTO_CLASS)

        pair_choice.change(on_pair, pair_choice, self.class_choice, api_visibility='private',
                           concurrency_id=model_lane['concurrency_id'])
        self.analyse_button.click(
            on_analyse, [view, pixel_state, self.class_choice, *self.option_widgets],
            [*self.figure_plots, self.figure_data, self.linked_image],
            api_visibility='private', **lane)
        if inspected is not None:
            linked_plot = self.figure_plots[list(image_kinds()).index(LINKED_KIND)]
            inspected.change(remark, [self.figure_data, view, inspected],
                             [linked_plot, self.linked_image], api_visibility='private',
                             concurrency_id='inspected-mark', concurrency_limit=4,
                             trigger_mode='always_last', show_progress='hidden')
        self.set_button.click(on_set_figure,
                              [self.set_choice, pair_choice], [self.set_plot, self.set_caption],
                              api_visibility='private', **lane)
        self.export_button.click(download_all, [self.figure_data, self.formats, view],
                                 self.figure_files, api_visibility='private',
                                 concurrency_id='export', concurrency_limit=1)


def _set_figures():
    with gr.Accordion('Set-level figures of the paper (the model pair, several images)',
                      open=False):
        with gr.Row():
            set_choice = gr.Dropdown([(kind.title, name) for name, kind in set_kinds().items()],
                                     value=next(iter(set_kinds()), None), label='Figure',
                                     interactive=True)
            set_button = gr.Button('Compute (up to a minute)', elem_id='set-button')
        set_plot = gr.Plot(label='Set-level figure', elem_id='set-plot')
        set_caption = gr.Markdown(elem_id='set-caption')
    return set_choice, set_button, set_plot, set_caption


def _figure_plots():
    """One plot per per-image kind (``FIGURES`` order); the linked kind's with the image
    beside it. Returns (plots, the linked image)."""
    plots, linked_image = [], None
    for name, kind in image_kinds().items():
        if name != LINKED_KIND:
            plots.append(gr.Plot(label=kind.title, elem_id=f'{name}-plot'))
            continue
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=400):
                plots.append(gr.Plot(label=kind.title, elem_id=f'{name}-plot'))
            with gr.Column(scale=1, min_width=200):
                linked_image = gr.HTML('', elem_id=f'{name}-image', js_on_load=LINKED_JS,
                                       css_template=LINKED_CSS, padding=False)
    return plots, linked_image


def build_analysis_tab(default_classes: List[str]) -> AnalysisTab:
    """The tab, inside the Blocks being built (call it inside ``gr.Blocks``)."""
    options = figure_options()
    with gr.Tab('Analysis'):
        gr.Markdown(
            'Figures of the paper for the image segmented in the Segment tab: t-SNE of the '
            'pixel features with the fixed and adapted prototypes of one class (semantic and '
            'spatial domain), inter-class relation matrices (fixed S, adapted Sp and, with a '
            'label, the teacher S_hat), and the per-class prototype shift.')
        figures_for = gr.Markdown(figures_caption(None), elem_id='figures-for')
        figure_data = gr.State(None)
        with gr.Row():
            class_choice = gr.Dropdown(default_classes, value=AUTO_CLASS,
                                       label='Highlighted class (classes in this image)',
                                       interactive=True, elem_id='analysis-class')
            analyse_button = gr.Button('Compute figures', variant='primary',
                                       elem_id='analysis-button')
        with gr.Accordion('Figure options (as in python -m analysis)', open=False):
            with gr.Row():
                option_widgets = [option_widget(o) for o in options]
        figure_plots, linked_image = _figure_plots()
        with gr.Row():
            formats = gr.CheckboxGroup(list(FIGURE_FORMATS), value=list(FIGURE_FORMATS),
                                       label='Paper formats')
            export_button = gr.Button('Download all (zip)', elem_id='export-button')
        figure_files = gr.File(label='Figures for papers', file_count='multiple',
                               interactive=False, elem_id='figure-files')
        set_widgets = _set_figures()
    return AnalysisTab(figures_for, figure_data, class_choice, analyse_button, options,
                       option_widgets, figure_plots, formats, export_button, figure_files,
                       *set_widgets, linked_image)
