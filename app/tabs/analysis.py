"""The Analysis tab: the paper's figures for the image segmented in the Segment tab, their
options (each figure kind's own command-line flags), paper exports, set-level figures.

The computations are :mod:`app.services` and :mod:`app.export`; this module builds the
widgets (:func:`build_analysis_tab`), turns the option widgets' values into each kind's
keyword options (:func:`options_by_kind`) and wires the tab's events.
"""
from __future__ import annotations

import argparse
import html
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import gradio as gr

from analysis.figures import FIGURES, image_kinds, set_kinds

from ..errors import user_error
from ..export import FIGURE_FORMATS, download_all
from ..lanes import in_analysis_thread
from ..pairs import PairError, PairRegistry
from ..services import AUTO_CLASS, analysis_figures, set_figure
from ..state import ImageView, SegmentView

DEFAULT_OPTION = '(default)'


@dataclass(frozen=True)
class FigureOption:
    """One command-line flag of a figure kind, shown as a widget in the Analysis tab."""
    kind: str
    dest: str
    flag: str
    type: Any
    default: Any
    choices: Optional[tuple]
    help: str

    @property
    def label(self) -> str:
        return f'{self.kind}: {self.flag.lstrip("-")}'


def _kind_parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f'python -m analysis {name}', add_help=False,
                                     exit_on_error=False)
    FIGURES[name].add_arguments(parser)
    return parser


def kind_options(name: str) -> List[FigureOption]:
    """The options of figure kind ``name`` shown as widgets: its own CLI flags (read from
    the parser ``FigureKind.add_arguments`` fills; the one place that reads argparse's
    actions), without the highlighted class (the tab's class list holds the image's)."""
    if FIGURES[name].add_arguments is None:
        return []
    return [FigureOption(name, action.dest, action.option_strings[0], action.type,
                         action.default, tuple(action.choices) if action.choices else None,
                         (action.help or '').replace('%%', '%'))
            for action in _kind_parser(name)._actions
            if action.dest != 'class_name' and action.option_strings]


def figure_options() -> List[FigureOption]:
    """Every per-image figure kind's options (:func:`kind_options`), in ``FIGURES`` order."""
    return [option for name in image_kinds() for option in kind_options(name)]


def option_widget(option: FigureOption):
    info = option.help or None
    if option.choices:
        choices = list(option.choices)
        value = option.default if option.default in choices else DEFAULT_OPTION
        if value == DEFAULT_OPTION:
            choices = [DEFAULT_OPTION] + choices
        return gr.Dropdown(choices, value=value, label=option.label, info=info)
    if option.type in (int, float):
        return gr.Number(value=option.default, label=option.label, info=info,
                         precision=0 if option.type is int else None)
    return gr.Textbox(value='' if option.default is None else str(option.default),
                      label=option.label, info=info)


def options_by_kind(options: Sequence[FigureOption], values: Sequence) -> Dict[str, dict]:
    """The figure functions' keyword options from the widgets' values, through each kind's
    own ``options_from_args`` (the CLI's checks and messages)."""
    argv: Dict[str, List[str]] = {name: [] for name in image_kinds()}
    for option, value in zip(options, values):
        if value is None or value == '' or value == DEFAULT_OPTION:
            continue
        if option.type is int:
            value = int(value)
        argv[option.kind] += [option.flag, str(value)]
    result = {}
    for name, kind in image_kinds().items():
        if kind.options_from_args is None:
            result[name] = {}
            continue
        try:
            args = _kind_parser(name).parse_args(argv[name])
        except (argparse.ArgumentError, SystemExit) as err:
            raise user_error(f'{name}: {err}', 'Figure options') from None
        try:
            result[name] = dict(kind.options_from_args(args))
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
    options: List[FigureOption]
    option_widgets: list
    figure_plots: List[gr.Plot]
    formats: gr.CheckboxGroup
    export_button: gr.Button
    figure_files: gr.File
    set_choice: gr.Dropdown
    set_button: gr.Button
    set_plot: gr.Plot
    set_caption: gr.Markdown

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
                model_lane: dict, lane: dict) -> None:
        """The tab's events; ``lane``: the queue settings of the figures, ``model_lane``
        those of the segmentation (a pair chosen is loaded there)."""
        options = self.options

        @in_analysis_thread
        def on_analyse(state, name, *values, progress=gr.Progress()):
            return analysis_figures(registry, state, name, options_by_kind(options, values),
                                    progress)

        @in_analysis_thread
        def on_set_figure(name, pair):
            return set_figure(registry, pair, name)

        def on_pair(pair_name):
            return gr.update(choices=class_choices(registry, pair_name), value=AUTO_CLASS)

        pair_choice.change(on_pair, pair_choice, self.class_choice, api_visibility='private',
                           concurrency_id=model_lane['concurrency_id'])
        self.analyse_button.click(on_analyse, [view, self.class_choice, *self.option_widgets],
                                  [*self.figure_plots, self.figure_data],
                                  api_visibility='private', **lane)
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
        figure_plots = [gr.Plot(label=kind.title, elem_id=f'{name}-plot')
                        for name, kind in image_kinds().items()]
        with gr.Row():
            formats = gr.CheckboxGroup(list(FIGURE_FORMATS), value=list(FIGURE_FORMATS),
                                       label='Paper formats')
            export_button = gr.Button('Download all (zip)', elem_id='export-button')
        figure_files = gr.File(label='Figures for papers', file_count='multiple',
                               interactive=False, elem_id='figure-files')
        set_widgets = _set_figures()
    return AnalysisTab(figures_for, figure_data, class_choice, analyse_button, options,
                       option_widgets, figure_plots, formats, export_button, figure_files,
                       *set_widgets)
