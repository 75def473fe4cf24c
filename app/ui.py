"""The Gradio Blocks page: a thin layer over ``analysis`` (io, colour, stats, figures).

Nothing here computes a mask, a colour or a number: every value shown comes from a function
of ``analysis`` (or ``ssa_seg``) that the tests call directly. This module only wires them to
widgets, turns expected failures into readable messages (``gr.Error``) and writes download
files into Gradio's temporary folder (cleaned by ``delete_cache``).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import html
import io
import logging
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import gradio as gr
from PIL import Image

from analysis import colour, stats
from analysis import io as image_io
from analysis.extract import extract
from analysis.figures import FIGURES, export_figure, figure, image_kinds, set_kinds

from . import views
from .components import uploaded_file, uploaded_image
from .dataset_tab import build_dataset_tab
from .pairs import PairError, PairRegistry

log = logging.getLogger('app')

EXAMPLES_DIR = Path(__file__).resolve().parent / 'examples'
LABEL_FILE_TYPES = list(image_io.LABEL_SUFFIXES)
MODEL_QUEUE = 'models'              # every event that runs a model shares this queue slot
FIGURE_FORMATS = ('png', 'svg', 'pdf')
CACHE_CLEANUP = (600, 3600)         # every 10 min, delete our temporary files older than 1 h
TRIM_AFTER_PIXELS = 4_000_000     # images above this are followed by a malloc_trim
AUTO_CLASS = '(auto)'               # t-SNE highlights the analysis toolkit's default class
ALL_CLASSES = '(all classes)'       # the class filter's "no filter"
MAP_DIFFER = 'where the models differ'
MAP_ERRORS = 'error map (needs a label)'
DEFAULT_OPTION = '(default)'
# Hides the image widget's preview until the browser has read the image's size (from its
# header; Chromium decodes the pixels only when it paints them) and keeps it hidden above the
# app's pixel limit. Measured in chromium after an example click: a 12000 x 12000 PNG preview
# blocked the page's main thread 1.1-1.8 s (3 of 4 runs) before the refusal was shown.
PREVIEW_GUARD_JS = """() => {
  const guard = (img) => {
    if (img.dataset.ssaGuard === img.src) return;
    img.dataset.ssaGuard = img.src;
    img.style.visibility = 'hidden';
    const show = () => {
      if (img.naturalWidth * img.naturalHeight <= MAX_PIXELS) img.style.visibility = '';
    };
    if (img.complete) show(); else img.addEventListener('load', show, {once: true});
  };
  const scan = () => document.querySelectorAll('#image-input img').forEach(guard);
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true,
                                                     attributes: true, attributeFilter: ['src']});
  scan();
}"""
# ``progress(fraction, desc)``: what gr.Progress accepts; a reference model takes seconds on CPU
Progress = Callable[..., object]


# --------------------------------------------------------------------------- helpers

def user_error(message: str, title: str = 'Cannot segment this input') -> gr.Error:
    """A message for the page (rendered as HTML by Gradio, so user-derived text is escaped)."""
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


@contextlib.contextmanager
def user_errors(bad_input: str, failure: str = 'Analysis failed'):
    """Library errors inside the block as the page's one message: a ``ValueError`` or
    ``KeyError`` (a bad input or option) titled ``bad_input``; anything else logged and
    titled ``failure``; a message already made (``gr.Error``) passes unchanged."""
    try:
        yield
    except gr.Error:
        raise
    except (ValueError, KeyError) as err:
        raise user_error(err, bad_input) from None
    except Exception as err:
        log.exception(failure)
        raise user_error(f'{type(err).__name__}: {err}', failure) from None


def list_examples(examples_dir: Path = EXAMPLES_DIR) -> List[List[Optional[str]]]:
    """[[image, label or None], ...]: ``examples/images/*`` with ``examples/labels/<stem>.png``."""
    images_dir, labels_dir = examples_dir / 'images', examples_dir / 'labels'
    if not images_dir.is_dir():
        return []
    rows = []
    for image in sorted(images_dir.iterdir()):
        if image.suffix.lower() in image_io.IMAGE_SUFFIXES and image.is_file():
            label = labels_dir / f'{image.stem}.png'
            rows.append([str(image), str(label) if label.is_file() else None])
    return rows


def _scratch_dir() -> Path:
    """A fresh folder inside Gradio's temporary folder (what ``delete_cache`` cleans)."""
    folder = Path(gr.utils.get_upload_folder()) / 'ssa_seg_app' / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_files(*images) -> List[str]:
    """RGB arrays as PNG files in Gradio's temporary folder, for image outputs.

    Gradio would encode returned arrays itself at zlib level 6 (about 0.1 s for each 512 x 512
    picture here); level 1 is five times faster for 15% larger files, which on a local
    connection is the better trade. Lossless either way: the colours are exact."""
    folder = _scratch_dir()
    paths = []
    for index, image in enumerate(images):
        path = folder / f'{index}.png'
        Image.fromarray(image).save(path, format='PNG', compress_level=1)
        paths.append(str(path))
    return paths


def _trim_heap() -> None:
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):     # not glibc: nothing to do
        pass


def safe_stem(text: str, fallback: str = 'image') -> str:
    """A file-name part from a user's file name or a model name (letters, digits, ._-)."""
    stem = re.sub(r'[^A-Za-z0-9._-]+', '_', Path(str(text)).stem).strip('._')
    return stem[:80] or fallback


def message_html(title: str = '', text: str = '', kind: str = 'error') -> str:
    """The one message of a run (``text`` is already escaped HTML, as in ``gr.Error``)."""
    if not text:
        return ''
    colour = {'error': '#b00020', 'note': '#8a5a00'}.get(kind, '#333')
    return (f'<div class="ssa-message ssa-{kind}" role="alert" style="border-left:4px solid '
            f'{colour};padding:6px 10px;background:#fff6f6;color:#222">'
            f'<strong>{html.escape(title)}</strong>: {text}</div>')


def _path_of(value) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return _path_of(value[0]) if value else None
    return str(getattr(value, 'name', value))


def _reporter(progress: Optional[Progress]) -> Callable[[float, str], None]:
    """``step(fraction, desc)`` that tells ``progress`` (if any) how far a long call is."""
    def step(fraction: float, desc: str) -> None:
        if progress is not None:
            progress(fraction, desc=desc)
    return step


# --------------------------------------------------------------------------- core calls

def load_inputs(registry: PairRegistry, image_path: Optional[str],
                label_path: Optional[str] = None, pair_name: Optional[str] = None,
                on_bad_label: Optional[Callable[[str], None]] = None):
    """(loaded pair, ``LoadedImage``, label at the image size or None), with the page's
    messages. ``on_bad_label(problem)``: a label that does not fit is set aside and
    reported there instead of failing."""
    if not image_path:
        raise user_error('Upload an image (or pick an example) first.', 'No image')
    try:
        pair = registry.get(pair_name or None)
    except PairError as err:
        raise user_error(err, 'Model pair unavailable') from None
    try:
        image = image_io.load_image(image_path)
    except image_io.ImageLoadError as err:
        raise user_error(err, 'Cannot read this image') from None
    label = None
    if label_path:
        try:
            label = image_io.load_label(label_path, image.size, pair.num_classes,
                                        palette=pair.palette)
        except image_io.ImageLoadError as err:
            if on_bad_label is None:
                raise user_error(err, 'Cannot use this label') from None
            on_bad_label(str(err))
    return pair, image, label


class ComparisonRun:
    """One comparison: the loaded image, both segmentations, the label and the statistics."""

    def __init__(self, registry: PairRegistry, image_path: Optional[str],
                 label_path: Optional[str] = None, pair_name: Optional[str] = None,
                 drop_bad_label: bool = False, progress: Optional[Progress] = None):
        """``drop_bad_label``: a label that does not fit is set aside (``label_problem``
        says why) instead of failing the run; the page uses it, the API does not.
        ``progress(fraction, desc=...)`` is told each step (the page passes gr.Progress)."""
        step = _reporter(progress)

        step(0.0, 'Loading the model pair')
        self.label_problem: Optional[str] = None
        self.pair, self.image, self.label = load_inputs(
            registry, image_path, label_path, pair_name,
            on_bad_label=self._drop_label if drop_bad_label else None)
        names = self.pair.model_names
        stages = {'baseline': (0.1, 'baseline'), 'ssa': (0.5, 'SSA-Seg')}

        def starting(role: str) -> None:
            fraction, kind = stages[role]
            step(fraction, f'Segmenting with {names[role]} ({kind})')

        try:
            self.segmentation = stats.segment_pair(self.pair.baseline, self.pair.ssa,
                                                   self.image, before=starting)
        except Exception as err:  # a model failure must not take the server down
            log.exception('segmentation failed')
            raise user_error(f'the models failed on this image ({type(err).__name__}: {err})',
                             'Segmentation failed') from None
        step(0.9, 'Statistics and overlays')
        self.stats = stats.comparison_statistics(
            self.image, self.segmentation, self.pair.classes, self.label,
            pair_name=self.pair.name, model_names=self.pair.model_names)

    def _drop_label(self, problem: str) -> None:
        self.label_problem = problem

    def overlays(self, opacity: float):
        work = self.image.work
        return (colour.overlay(work, self.segmentation.baseline.work_mask, self.pair.palette,
                                opacity, self.pair.num_classes),
                colour.overlay(work, self.segmentation.ssa.work_mask, self.pair.palette,
                                opacity, self.pair.num_classes))

    def disagreement(self):
        return colour.disagreement_image(self.image.work, self.segmentation.baseline.work_mask,
                                          self.segmentation.ssa.work_mask)

    def view_state(self) -> dict:
        """What later events need (redraws, the tables, the Analysis tab), kept per session:
        the processed image and masks, the label at that size, the statistics and files."""
        label = None if self.label is None else \
            image_io.upsample_nearest(self.label, self.image.work_size)
        masks = (self.segmentation.baseline.work_mask, self.segmentation.ssa.work_mask)
        return dict(pair=self.pair.name, work=self.image.work, masks=masks,
                    palette=self.pair.palette, num_classes=self.pair.num_classes,
                    classes=list(self.pair.classes), label=label,
                    name=self.image.name or 'image', size=self.image.size,
                    model_names=dict(self.pair.model_names), stats=self.stats,
                    present=stats.classes_present(*masks, *(() if label is None else (label,))),
                    hatched=colour.similar_colour_classes(self.pair.palette,
                                                          self.pair.num_classes),
                    breakdown=None if label is None else stats.error_breakdown(*masks, label),
                    mask_files=self.mask_files(), key=uuid.uuid4().hex)

    def mask_files(self) -> List[str]:
        """Full-size indexed PNG masks, named ``<image>_<model>_mask.png``."""
        folder = _scratch_dir()
        stem = safe_stem(self.image.name or 'image')
        paths = []
        for role, seg in self.segmentation:
            path = folder / f'{stem}_{safe_stem(self.pair.model_names[role], role)}_mask.png'
            path.write_bytes(colour.mask_to_png_bytes(seg.mask, self.pair.palette,
                                                       self.pair.num_classes))
            paths.append(str(path))
        return paths


def api_compare(registry: PairRegistry, image, label=None, pair_name=None, opacity=0.5):
    """The ``/compare`` endpoint: (baseline overlay, SSA-Seg overlay, disagreement map) as PNG
    files at the processing size, the statistics, then both class-index masks (indexed PNG
    at the image's size, named ``<image>_<model>_mask.png``)."""
    run = ComparisonRun(registry, _path_of(image), _path_of(label), pair_name)
    base, ssa = run.overlays(0.5 if opacity is None else float(opacity))
    outputs = (*png_files(base, ssa, run.disagreement()), run.stats, *run.mask_files())
    _done_with(run)
    return outputs


def _done_with(run: ComparisonRun) -> None:
    """After a large image, free its image-size arrays now and hand the freed heap pages
    back to the system, so that the server's resident memory returns to its idle level."""
    height, width = run.image.size
    run.__dict__.clear()
    if height * width > TRIM_AFTER_PIXELS:
        _trim_heap()


# --------------------------------------------------------------------------- segment view

def png_bytes(image) -> bytes:
    """An RGB or grey array as PNG bytes (zlib level 1: fast, lossless)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG', compress_level=1)
    return buffer.getvalue()


def render_view(state: Optional[dict], opacity: float = 0.5, map_kind: str = MAP_DIFFER,
                class_filter: Optional[str] = None) -> str:
    """The viewer's HTML for a comparison kept in ``state``: both overlays, the ground truth
    when there is a label, and the map (disagreement or error map), all drawn by
    ``analysis.colour``; ``class_filter`` shows one class's pixels only."""
    if not state:
        return ''
    work, (base_mask, ssa_mask) = state['work'], state['masks']
    label, palette, k = state.get('label'), state['palette'], state['num_classes']
    hatched = state.get('hatched') or ()
    keep = None
    if class_filter not in (None, '', ALL_CLASSES) and class_filter in state['classes']:
        keep = [state['classes'].index(class_filter)]
    alpha = 0.5 if opacity is None else float(opacity)

    def painted(mask):
        return png_bytes(colour.overlay(work, colour.keep_classes(mask, keep), palette, alpha,
                                        k, hatched=hatched))

    names = state['model_names']
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
    shown = state['present'] if keep is None else keep
    legend = views.legend_html(colour.legend_entries(state['classes'], palette, shown))
    map_key = views.map_legend_html('error' if errors else 'differ', state.get('breakdown'))
    if map_kind == MAP_ERRORS and label is None:
        map_key += '<div class="ssa-map-key"><em>The error map needs a ground-truth label; ' \
                   'showing where the models differ.</em></div>'
    return views.viewer_html(panels, work.shape[:2], state['classes'], state['key'],
                             legend=legend, map_key=map_key)


def figures_caption(state: Optional[dict]) -> str:
    """Which image (and models) the Analysis tab's figures are for."""
    if not state:
        return '_No image yet: segment one in the Segment tab._'
    height, width = state['size']
    names = state['model_names']
    label = 'with its ground-truth label' if state.get('label') is not None else 'no label'
    return (f'Figures for **{html.escape(state["name"])}** ({width} x {height}, {label}); '
            f'models {html.escape(names["baseline"])} (baseline) and '
            f'{html.escape(names["ssa"])} (SSA-Seg).')


# --------------------------------------------------------------------------- figure options

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


def figure_options() -> List[FigureOption]:
    """Every per-image figure kind's own CLI flags (``FigureKind.add_arguments``), in order;
    the highlighted class is left out (the tab's class list holds the image's classes)."""
    options = []
    for name, kind in image_kinds().items():
        if kind.add_arguments is None:
            continue
        for action in _kind_parser(name)._actions:
            if action.dest == 'class_name' or not action.option_strings:
                continue
            options.append(FigureOption(
                name, action.dest, action.option_strings[0], action.type, action.default,
                tuple(action.choices) if action.choices else None,
                (action.help or '').replace('%%', '%')))
    return options


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


# --------------------------------------------------------------------------- the page

def build_demo(registry: PairRegistry, *, examples_dir: Path = EXAMPLES_DIR,
               model_concurrency: int = 1, upload_limit: str = '20mb',
               dataset_report: Optional[dict] = None) -> gr.Blocks:
    """The Blocks app. ``model_concurrency``: model calls running at once (CPU-bound);
    ``upload_limit``: stated in the page (enforced by ``launch(max_file_size=...)``);
    ``dataset_report``: the Dataset tab's report (``app.dataset_tab.find_report``)."""
    pair_names = registry.names
    examples = list_examples(examples_dir)
    default_classes = _class_choices(registry, registry.default)
    options = figure_options()

    with gr.Blocks(title='SSA-Seg Studio', analytics_enabled=False,
                   delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            '**SSA-Seg Studio**: baseline vs SSA-Seg (NeurIPS 2024) on your image. Images '
            f'over {image_io.MAX_PROCESSING_SIDE} px are segmented at that size (statistics '
            f'at full size); over {image_io.MAX_IMAGE_PIXELS // 1_000_000} megapixels or '
            f'{upload_limit.upper()} they are refused. See the Models tab for what the '
            'models know.')
        pair_choice = gr.Dropdown(pair_names, value=registry.default, label='Model pair',
                                  visible=len(pair_names) > 1, interactive=True)
        view = gr.State(None)

        with gr.Tab('Segment'):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=260):
                    image_in = uploaded_image(label='Image', sources=['upload', 'clipboard'],
                                              height=180, elem_id='image-input',
                                              buttons=['fullscreen'])
                    label_in = uploaded_file(
                        label='Ground-truth label (optional, PNG of class indices)',
                        file_types=LABEL_FILE_TYPES, elem_id='label-input', height=70)
                    run_button = gr.Button('Segment', variant='primary',
                                           elem_id='segment-button')
                    opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label='Mask opacity',
                                        elem_id='opacity')
                    map_kind = gr.Radio([MAP_DIFFER, MAP_ERRORS], value=MAP_DIFFER,
                                        label='Map', elem_id='map-kind')
                    class_filter = gr.Dropdown([ALL_CLASSES], value=ALL_CLASSES,
                                               label='Show one class only', interactive=True,
                                               elem_id='class-filter')
                with gr.Column(scale=4):
                    message = gr.HTML('', elem_id='message')
                    viewer = gr.HTML('', elem_id='viewer', js_on_load=views.VIEWER_JS,
                                     css_template=views.VIEWER_CSS, padding=False)
                    timing = gr.Markdown(elem_id='timing')
                    # the examples sit under the results: before the first run they are at
                    # the top of this column, after it the masks are (1366 x 768 shows them
                    # without scrolling)
                    with gr.Accordion('Examples (SynthScenes val, with labels)', open=True,
                                      elem_id='examples'):
                        example_table = gr.Examples(
                            examples, inputs=[image_in, label_in], label=None,
                            examples_per_page=4) if examples else None
            with gr.Row():
                share_plot = gr.HTML('', label='Pixel share per class', show_label=True,
                                     container=True, elem_id='share-plot')
                with gr.Column():
                    share_table = gr.Dataframe(headers=['class', 'baseline %', 'SSA-Seg %'],
                                               label='Pixel share per class',
                                               interactive=False)
                    iou_table = gr.Dataframe(
                        headers=['class', 'baseline IoU %', 'SSA-Seg IoU %'],
                        label='IoU vs the label (needs a label)', interactive=False,
                        elem_id='iou-table')
            mask_files = gr.File(label='Masks at the image size (indexed PNG)',
                                 file_count='multiple', interactive=False,
                                 elem_id='mask-files')
            with gr.Accordion('Statistics (JSON)', open=False):
                stats_out = gr.JSON(label='Statistics')

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
            with gr.Accordion('Set-level figures of the paper (the model pair, several images)',
                              open=False):
                with gr.Row():
                    set_choice = gr.Dropdown(
                        [(kind.title, name) for name, kind in set_kinds().items()],
                        value=next(iter(set_kinds()), None), label='Figure', interactive=True)
                    set_button = gr.Button('Compute (up to a minute)', elem_id='set-button')
                set_plot = gr.Plot(label='Set-level figure', elem_id='set-plot')
                set_caption = gr.Markdown(elem_id='set-caption')

        dataset_tab = build_dataset_tab(dataset_report)

        with gr.Tab('Models'):
            models_info = gr.Markdown(
                views.models_markdown(registry.specs.values(), registry.loaded_names),
                elem_id='models-info')

        # /compare: the documented API endpoint (its widgets are not shown in the page)
        with gr.Group(visible=False):
            api_image = uploaded_image(label='image')
            api_label = uploaded_file(label='label', value=None)
            api_pair = gr.Dropdown(pair_names, value=registry.default, label='pair')
            api_opacity = gr.Slider(0.0, 1.0, value=0.5, label='opacity')
            api_outputs = [gr.Image(label='baseline_overlay', format='png'),
                           gr.Image(label='ssa_overlay', format='png'),
                           gr.Image(label='disagreement', format='png'),
                           gr.JSON(label='statistics'),
                           gr.File(label='baseline_mask'),
                           gr.File(label='ssa_mask')]
            api_button = gr.Button('compare')
            # /figures and /shift share the image, label and pair widgets
            api_class = gr.Textbox(value='', label='class_name')
            api_figure_files = gr.File(label='figures', file_count='multiple')
            api_shift_json = gr.JSON(label='shift')
            api_figures_button = gr.Button('figures')
            api_shift_button = gr.Button('shift')

        # ------------------------------------------------------------------ events
        # A run shows its one message (or none) and either all new results or none: a
        # failure clears what the previous image left. Errors are returned, not raised, so
        # that Gradio does not paint an "Error" badge on every output.
        segment_outputs = [message, viewer, timing, view, label_in, class_filter]
        detail_outputs = [share_plot, share_table, iou_table, mask_files, stats_out,
                          figures_for, class_choice, *figure_plots, figure_data, figure_files,
                          models_info]

        def cleared(text: str = '', title: str = ''):
            return [message_html(title, text), '', '', None, gr.skip(),
                    gr.update(choices=[ALL_CLASSES], value=ALL_CLASSES)]

        def on_segment(image_path, label_path, pair_name, alpha, kind, progress=gr.Progress()):
            if not image_path:      # cleared input: clear the results, no message
                return cleared()
            try:
                run = ComparisonRun(registry, image_path, _path_of(label_path), pair_name,
                                    drop_bad_label=True, progress=progress)
            except gr.Error as err:
                return cleared(err.message, err.title or 'Error')
            note = ''
            if run.label_problem:
                note = message_html('Label removed', html.escape(run.label_problem,
                                                                 quote=False), 'note')
            state = run.view_state()
            notes = '; '.join(run.image.notes)
            timing_md = (f'**Inference time** {views.timing_text(run.stats)} &nbsp; '
                         f'**Disagreement** {100 * run.stats["disagreement_fraction"]:.1f}% '
                         f'of the pixels' + (f'  \n_{html.escape(notes)}_' if notes else ''))
            classes = [ALL_CLASSES] + [state['classes'][i] for i in state['present']
                                       if i < len(state['classes'])]
            _done_with(run)
            return [note, render_view(state, alpha, kind), timing_md, state,
                    None if note else gr.skip(),
                    gr.update(choices=classes, value=ALL_CLASSES)]

        def on_details(state):
            stale_analysis = [None] * (len(figure_plots) + 2)
            models = views.models_markdown(registry.specs.values(), registry.loaded_names)
            if not state:
                return ['', None, None, None, None, figures_caption(None),
                                     gr.update(choices=[AUTO_CLASS], value=AUTO_CLASS)] \
                    + stale_analysis + [models]
            numbers = state['stats']
            present = [AUTO_CLASS] + [state['classes'][i] for i in state['present']
                                      if i < len(state['classes'])]
            return [views.pixel_share_html(numbers, state['palette']),
                    views.share_rows(numbers), views.iou_rows(numbers) or None,
                    state['mask_files'], numbers, figures_caption(state),
                    gr.update(choices=present, value=AUTO_CLASS)] + stale_analysis + [models]

        # Triggered by user actions only (click, upload, clear, choosing a pair or an
        # example), so that clearing the label from ``on_segment`` starts no second run.
        segment_event = dict(fn=on_segment,
                             inputs=[image_in, label_in, pair_choice, opacity, map_kind],
                             outputs=segment_outputs, api_visibility='private',
                             concurrency_id=MODEL_QUEUE, concurrency_limit=model_concurrency)
        details_event = dict(fn=on_details, inputs=view, outputs=detail_outputs,
                             api_visibility='private', concurrency_id='details',
                             concurrency_limit=4)
        gr.on([run_button.click, image_in.upload, label_in.upload, label_in.clear,
               pair_choice.input], trigger_mode='always_last', **segment_event
              ).then(**details_event)
        image_in.clear(cleared, None, segment_outputs, api_visibility='private', queue=False
                       ).then(**details_event)
        if example_table is not None:
            # the example table is below the results: bring the results back into view
            example_run = example_table.load_input_event.success(**segment_event)
            example_run.then(**details_event)
            example_run.then(None, js="() => document.querySelector('#viewer')?.scrollIntoView("
                                      "{block: 'start', behavior: 'instant'})")
        dataset_tab.connect(image_in, label_in, segment_event, details_event)
        dataset_tab.connect_drilldown(image_in, label_in, segment_event, details_event)
        # the upload widget's preview is drawn only for images the server would accept:
        # a 144-megapixel PNG otherwise costs the browser seconds of decoding first
        demo.load(None, js=PREVIEW_GUARD_JS.replace('MAX_PIXELS',
                                                    str(image_io.MAX_IMAGE_PIXELS)),
                  api_visibility='private', queue=False)

        # redraws without the models: opacity (mouse, keyboard and the number box all
        # change the value), the map kind and the class filter; zoom and pan are kept
        redraw = dict(fn=render_view, inputs=[view, opacity, map_kind, class_filter],
                      outputs=viewer, api_visibility='private', concurrency_id='redraw',
                      concurrency_limit=4, trigger_mode='always_last', show_progress='hidden')
        gr.on([opacity.change, map_kind.input, class_filter.input], **redraw)

        def on_pair(pair_name):
            return gr.update(choices=_class_choices(registry, pair_name), value=AUTO_CLASS)

        pair_choice.change(on_pair, pair_choice, class_choice, api_visibility='private',
                           concurrency_id=MODEL_QUEUE)

        def on_analyse(state, name, *values, progress=gr.Progress()):
            return analysis_figures(registry, state, name, options_by_kind(options, values),
                                    progress)

        analyse_button.click(on_analyse, [view, class_choice, *option_widgets],
                             [*figure_plots, figure_data],
                             api_visibility='private', concurrency_id=MODEL_QUEUE,
                             concurrency_limit=model_concurrency)
        set_button.click(lambda name, pair: set_figure(registry, pair, name),
                         [set_choice, pair_choice], [set_plot, set_caption],
                         api_visibility='private', concurrency_id=MODEL_QUEUE,
                         concurrency_limit=model_concurrency)
        export_button.click(download_all, [figure_data, formats, view], figure_files,
                            api_visibility='private', concurrency_id='export',
                            concurrency_limit=1)

        def compare_endpoint(image, label=None, pair=registry.default, opacity=0.5):
            return api_compare(registry, image, label, pair, opacity)

        api_button.click(compare_endpoint,
                         [api_image, api_label, api_pair, api_opacity], api_outputs,
                         api_name='compare', concurrency_id=MODEL_QUEUE,
                         concurrency_limit=model_concurrency,
                         api_description='Segment an image with the baseline and the SSA-Seg '
                         'model. Inputs: image; optional ground-truth label (PNG of class '
                         'indices, 255 = ignore), model pair name and overlay opacity. Returns '
                         'the baseline overlay, the SSA-Seg overlay, the disagreement map, '
                         'the statistics (pixel share per class, inference times, and with a '
                         'label per-class IoU and mIoU) as JSON, and the two class-index masks '
                         '(indexed PNG at the image size).')

        def figures_endpoint(image, label=None, pair=registry.default, class_name=''):
            return api_figures(registry, image, label, pair, class_name)

        api_figures_button.click(
            figures_endpoint, [api_image, api_label, api_pair, api_class],
            [api_figure_files, api_shift_json], api_name='figures', concurrency_id=MODEL_QUEUE,
            concurrency_limit=model_concurrency,
            api_description='The analysis figures of an image (the Analysis tab): inputs '
            'image; optional ground-truth label, model pair name and a class to highlight '
            '(empty: each figure\'s default). Returns every per-image figure as a PNG file '
            '(paper version, named <image>_<model>_<figure>.png, with the .json numbers of '
            'the figures that have them) and the prototype-shift numbers as JSON.')

        def shift_endpoint(image, label=None, pair=registry.default):
            return api_shift(registry, image, label, pair)

        api_shift_button.click(
            shift_endpoint, [api_image, api_label, api_pair], api_shift_json, api_name='shift',
            concurrency_id=MODEL_QUEUE, concurrency_limit=model_concurrency,
            api_description='The prototype-shift numbers of the SSA-Seg model on an image '
            '(as `python -m analysis shift --json`): inputs image; optional ground-truth '
            'label and model pair name.')
    return demo


def _class_choices(registry: PairRegistry, pair_name: Optional[str]) -> List[str]:
    try:
        return [AUTO_CLASS] + list(registry.get(pair_name).classes)
    except PairError:
        return [AUTO_CLASS]


# --------------------------------------------------------------------------- analysis tab

def _extractions(registry: PairRegistry, state: Optional[dict], with_baseline: bool,
                 step: Callable[[float, str], None]):
    """(pair, SSA-Seg extraction, baseline extraction or None) of the image in ``state``
    (:func:`analysis.extract.extract` on its processing-size image and label)."""
    if not state:
        raise user_error('Segment an image in the Segment tab first.', 'No image yet')
    try:
        pair = registry.get(state['pair'])
    except PairError as err:
        raise user_error(err, 'Model pair unavailable') from None
    label = state.get('label')
    image = image_io.load_image(state['work'])
    image.name = state.get('name', '')
    step(0.0, 'Features and prototypes of the SSA-Seg model')
    ssa = extract(pair.ssa, image, label, model_name=pair.model_names['ssa'])
    base = None
    if with_baseline:
        step(0.3, 'Features of the baseline')
        base = extract(pair.baseline, image, label, model_name=pair.model_names['baseline'])
    return pair, ssa, base


def analysis_figures(registry: PairRegistry, state: Optional[dict], class_name: Optional[str],
                     options: Optional[Dict[str, dict]] = None,
                     progress: Optional[Progress] = None):
    """Every registered per-image figure (plotly) for the current image, in ``FIGURES`` order.

    ``options``: each kind's keyword options (:func:`options_by_kind`); the highlighted
    class goes to every kind. ``progress(fraction, desc=...)`` is told each step (the page
    passes gr.Progress). Returns the figures and, last, their data objects by kind (kept
    for :func:`export_figures`)."""
    step = _reporter(progress)
    highlight = None if class_name in (None, '', AUTO_CLASS) else class_name
    kinds = image_kinds()
    with user_errors('Cannot draw these figures'):
        _, ssa, base = _extractions(registry, state, any(k.uses_baseline
                                                         for k in kinds.values()), step)
        bundles = {}
        for index, name in enumerate(kinds):
            step(0.5 + 0.5 * index / len(kinds), f'Figure: {kinds[name].title}')
            bundles[name] = figure(name, ssa, base,
                                   **{**(options or {}).get(name, {}), 'class_name': highlight})
    return (*(b.figure for b in bundles.values()), {name: b.data for name, b in bundles.items()})


def shift_numbers(registry: PairRegistry, state: Optional[dict]) -> dict:
    """The ``shift`` figure kind's numbers (its ``to_json``) for the image in ``state``:
    the SSA-Seg model only, no figure drawn."""
    kind = FIGURES['shift']
    with user_errors('Cannot compute the shift'):
        _, ssa, _ = _extractions(registry, state, False, _reporter(None))
        return kind.to_json(kind.data(ssa))


# --------------------------------------------------------------------------- analysis API

def analysis_state(registry: PairRegistry, image, label=None, pair_name=None) -> dict:
    """What the Analysis tab keeps of a segmented image (its processing-size image, the label
    at that size, names), from an image and optional label file, without segmenting."""
    pair, loaded, label_map = load_inputs(registry, _path_of(image), _path_of(label), pair_name)
    return dict(pair=pair.name, work=loaded.work, name=loaded.name or 'image',
                size=loaded.size, model_names=dict(pair.model_names),
                label=None if label_map is None else
                image_io.upsample_nearest(label_map, loaded.work_size))


def api_figures(registry: PairRegistry, image, label=None, pair_name=None,
                class_name=None):
    """The ``/figures`` endpoint: every per-image figure as a PNG file (the paper version,
    :func:`analysis.figures.export_figure`; plus the ``.json`` numbers of the kinds that
    have them), named ``<image>_<model>_<figure>``, and the shift numbers as JSON."""
    state = analysis_state(registry, image, label, pair_name)
    *_, data = analysis_figures(registry, state, class_name or None)
    return export_figures(data, ['png'], state), FIGURES['shift'].to_json(data['shift'])


def api_shift(registry: PairRegistry, image, label=None, pair_name=None) -> dict:
    """The ``/shift`` endpoint: the prototype-shift numbers (as ``python -m analysis shift
    --json``) of the SSA-Seg model on the image."""
    return shift_numbers(registry, analysis_state(registry, image, label, pair_name))


_FIGURE_SETS: dict = {}     # pair name -> analysis.figureset.FigureSet (extractions kept)


def set_figure(registry: PairRegistry, pair_name: Optional[str], kind_name: str):
    """A set-level figure (plotly) and its caption for a zoo pair: the demo pair's val
    images (see :mod:`analysis.figureset`); the pair's extractions are kept for the next."""
    from analysis.figureset import figure_set_from_pair
    try:
        loaded = registry.get(pair_name or None)
        spec = loaded.spec
        if spec.name not in _FIGURE_SETS:
            figure_set = figure_set_from_pair(spec, num_images=8)
            # the pair's models are already loaded: lend them (the ablation loads on demand)
            figure_set.use_model('baseline', loaded.baseline)
            figure_set.use_model('ssa', loaded.ssa)
            _FIGURE_SETS[spec.name] = figure_set
        bundle = figure(kind_name, _FIGURE_SETS[spec.name])
    except (PairError, ValueError, KeyError, FileNotFoundError) as err:
        raise user_error(err, 'Cannot draw this figure') from None
    caption = FIGURES[kind_name].caption
    return bundle.figure, caption(bundle.data) if caption else ''


def figure_file_stem(kind: str, state: Optional[dict]) -> str:
    """``<image>_<model>_<figure>``; figures drawing both models name both."""
    if not state:
        return kind
    names = state['model_names']
    model = safe_stem(names['ssa'], 'ssa')
    if FIGURES[kind].uses_baseline:
        model = f'{safe_stem(names["baseline"], "baseline")}_vs_{model}'
    return f'{safe_stem(state.get("name", "image"))}_{model}_{kind}'


def export_figures(data: Optional[dict], formats: Sequence[str] = FIGURE_FORMATS,
                   state: Optional[dict] = None) -> List[str]:
    """Paper versions (matplotlib) of the computed figures, one file per figure and format,
    named by image, model and figure (:func:`figure_file_stem`), plus the numbers (.json)
    of the figures that have them."""
    if not data:
        raise user_error('Compute the figures first.', 'Nothing to export')
    chosen = [f for f in FIGURE_FORMATS if f in (formats or ())]
    if not chosen:
        raise user_error('Choose at least one format (PNG, SVG or PDF).', 'Nothing to export')
    folder = _scratch_dir()
    try:
        files = []
        for kind, figure_data in data.items():
            stem = figure_file_stem(kind, state)
            suffixes = chosen + (['json'] if FIGURES[kind].to_json else [])
            files += [export_figure(figure_data, folder / f'{stem}.{fmt}') for fmt in suffixes]
        return files
    except Exception as err:
        log.exception('export failed')
        raise user_error(f'{type(err).__name__}: {err}', 'Export failed') from None


def download_all(data: Optional[dict], formats: Sequence[str] = FIGURE_FORMATS,
                 state: Optional[dict] = None) -> List[str]:
    """One zip of every exported figure file, and the files themselves."""
    files = export_figures(data, formats, state)
    stem = safe_stem(state.get('name', 'image')) if state else 'figures'
    archive = Path(files[0]).parent / f'{stem}_figures.zip'
    with zipfile.ZipFile(archive, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, arcname=Path(path).name)
    return [str(archive)] + files
