"""The Gradio Blocks page: a thin layer over ``analysis`` (io, colour, stats, figures).

Nothing here computes a mask, a colour or a number: every value shown comes from a function
of ``analysis`` (or ``ssa_seg``) that the tests call directly. This module only wires them to
widgets, turns expected failures into readable messages (``gr.Error``) and writes download
files into Gradio's temporary folder (cleaned by ``delete_cache``).
"""
from __future__ import annotations

import ctypes
import html
import logging
import uuid
from pathlib import Path
from typing import List, Optional, Sequence

import gradio as gr
from PIL import Image

from analysis import colour, stats
from analysis import io as image_io
from analysis.extract import extract
from analysis.figures import FIGURES, export_matplotlib, figure, image_kinds, set_kinds

from . import views
from .components import uploaded_file, uploaded_image
from .pairs import PairError, PairRegistry

log = logging.getLogger('app')

EXAMPLES_DIR = Path(__file__).resolve().parent / 'examples'
LABEL_FILE_TYPES = list(image_io.LABEL_SUFFIXES)
MODEL_QUEUE = 'models'              # every event that runs a model shares this queue slot
FIGURE_FORMATS = ('png', 'svg', 'pdf')
CACHE_CLEANUP = (600, 3600)         # every 10 min, delete our temporary files older than 1 h
TRIM_AFTER_PIXELS = 4_000_000     # images above this are followed by a malloc_trim
AUTO_CLASS = '(auto)'               # t-SNE highlights the analysis toolkit's default class


# --------------------------------------------------------------------------- helpers

def user_error(message: str, title: str = 'Cannot segment this input') -> gr.Error:
    """A message for the page (rendered as HTML by Gradio, so user-derived text is escaped)."""
    return gr.Error(html.escape(str(message), quote=False), title=title, print_exception=False)


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


def _path_of(value) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return _path_of(value[0]) if value else None
    return str(getattr(value, 'name', value))


# --------------------------------------------------------------------------- core calls

class ComparisonRun:
    """One comparison: the loaded image, both segmentations, the label and the statistics."""

    def __init__(self, registry: PairRegistry, image_path: Optional[str],
                 label_path: Optional[str] = None, pair_name: Optional[str] = None,
                 drop_bad_label: bool = False):
        """``drop_bad_label``: a label that does not fit is set aside (``label_problem``
        says why) instead of failing the run; the page uses it, the API does not."""
        if not image_path:
            raise user_error('Upload an image (or pick an example) first.', 'No image')
        try:
            self.pair = registry.get(pair_name or None)
        except PairError as err:
            raise user_error(err, 'Model pair unavailable') from None
        try:
            self.image = image_io.load_image(image_path)
        except image_io.ImageLoadError as err:
            raise user_error(err, 'Cannot read this image') from None
        self.label = None
        self.label_problem: Optional[str] = None
        if label_path:
            try:
                self.label = image_io.load_label(label_path, self.image.size,
                                                self.pair.num_classes, palette=self.pair.palette)
            except image_io.ImageLoadError as err:
                if not drop_bad_label:
                    raise user_error(err, 'Cannot use this label') from None
                self.label_problem = str(err)
        try:
            self.segmentation = stats.segment_pair(self.pair.baseline, self.pair.ssa, self.image)
        except Exception as err:  # a model failure must not take the server down
            log.exception('segmentation failed')
            raise user_error(f'the models failed on this image ({type(err).__name__}: {err})',
                             'Segmentation failed') from None
        self.stats = stats.comparison_statistics(
            self.image, self.segmentation, self.pair.classes, self.label,
            pair_name=self.pair.name, model_names=self.pair.model_names)

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
        """What later events need (opacity changes, the tables, the Analysis tab), kept per
        session: the processed image and masks, the statistics and the mask files' paths."""
        label = None if self.label is None else \
            image_io.upsample_nearest(self.label, self.image.work_size)
        return dict(pair=self.pair.name, work=self.image.work,
                    masks=(self.segmentation.baseline.work_mask, self.segmentation.ssa.work_mask),
                    palette=self.pair.palette, num_classes=self.pair.num_classes, label=label,
                    name=self.image.name or 'image', stats=self.stats,
                    mask_files=self.mask_files())

    def mask_files(self) -> List[str]:
        folder = _scratch_dir()
        paths = []
        for role, seg in self.segmentation:
            path = folder / f'{role}_mask.png'
            path.write_bytes(colour.mask_to_png_bytes(seg.mask, self.pair.palette,
                                                       self.pair.num_classes))
            paths.append(str(path))
        return paths


def api_compare(registry: PairRegistry, image, label=None, pair_name=None, opacity=0.5):
    """The ``/compare`` endpoint: (baseline overlay, SSA-Seg overlay, disagreement map) as PNG
    files at the processing size, and the statistics."""
    run = ComparisonRun(registry, _path_of(image), _path_of(label), pair_name)
    base, ssa = run.overlays(0.5 if opacity is None else float(opacity))
    outputs = (*png_files(base, ssa, run.disagreement()), run.stats)
    _done_with(run)
    return outputs


def _done_with(run: ComparisonRun) -> None:
    """After a large image, free its image-size arrays now and hand the freed heap pages
    back to the system, so that the server's resident memory returns to its idle level."""
    height, width = run.image.size
    run.__dict__.clear()
    if height * width > TRIM_AFTER_PIXELS:
        _trim_heap()


# --------------------------------------------------------------------------- the page

def build_demo(registry: PairRegistry, *, examples_dir: Path = EXAMPLES_DIR,
               model_concurrency: int = 1, upload_limit: str = '20mb') -> gr.Blocks:
    """The Blocks app. ``model_concurrency``: model calls running at once (CPU-bound);
    ``upload_limit``: stated in the page (enforced by ``launch(max_file_size=...)``)."""
    pair_names = registry.names
    examples = list_examples(examples_dir)
    default_classes = _class_choices(registry, registry.default)

    with gr.Blocks(title='SSA-Seg Studio', analytics_enabled=False,
                   delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            '## SSA-Seg Studio\nBaseline vs SSA-Seg (semantic and spatial adaptive classifier, '
            'NeurIPS 2024) on your image. Images larger than '
            f'{image_io.MAX_PROCESSING_SIDE} px on their longest side are segmented at that '
            f'size (statistics at full size); images over '
            f'{image_io.MAX_IMAGE_PIXELS // 1_000_000} megapixels or files over '
            f'{upload_limit.upper()} are refused.')
        pair_choice = gr.Dropdown(pair_names, value=registry.default, label='Model pair',
                                  visible=len(pair_names) > 1, interactive=True)
        view = gr.State(None)

        with gr.Tab('Segment'):
            with gr.Row():
                image_in = uploaded_image(label='Image', sources=['upload', 'clipboard'],
                                          height=320, elem_id='image-input')
                label_in = uploaded_file(
                    label='Ground-truth label (optional, PNG of class indices)',
                    file_types=LABEL_FILE_TYPES, elem_id='label-input')
            with gr.Row():
                opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label='Mask opacity',
                                    elem_id='opacity')
                run_button = gr.Button('Segment', variant='primary', elem_id='segment-button')
            example_table = gr.Examples(examples, inputs=[image_in, label_in],
                                        label='Examples (SynthScenes val, with labels)'
                                        ) if examples else None
            with gr.Row():
                baseline_out = gr.Image(label='Baseline', format='png', interactive=False,
                                        elem_id='baseline-mask')
                ssa_out = gr.Image(label='SSA-Seg', format='png', interactive=False,
                                   elem_id='ssa-mask')
            timing = gr.Markdown(elem_id='timing')
            legend = gr.HTML(label='Legend', elem_id='legend')
            with gr.Row():
                disagreement_out = gr.Image(label='Disagreement (magenta: the models differ)',
                                            format='png', interactive=False,
                                            elem_id='disagreement')
                share_plot = gr.Plot(label='Pixel share per class', elem_id='share-plot')
            with gr.Row():
                share_table = gr.Dataframe(headers=['class', 'baseline %', 'SSA-Seg %'],
                                           label='Pixel share per class', interactive=False)
                iou_table = gr.Dataframe(headers=['class', 'baseline IoU %', 'SSA-Seg IoU %'],
                                         label='IoU vs the label (needs a label)',
                                         interactive=False, elem_id='iou-table')
            mask_files = gr.File(label='Masks at the image size (indexed PNG)',
                                 file_count='multiple', interactive=False)
            with gr.Accordion('Statistics (JSON)', open=False):
                stats_out = gr.JSON(label='Statistics')

        with gr.Tab('Analysis'):
            gr.Markdown(
                'Figures of the paper for the image segmented in the Segment tab: t-SNE of the '
                'pixel features with the fixed and adapted prototypes of one class (semantic and '
                'spatial domain), inter-class relation matrices (fixed S, adapted Sp and, with a '
                'label, the teacher S_hat), and the per-class prototype shift.')
            figure_data = gr.State(None)
            with gr.Row():
                class_choice = gr.Dropdown(default_classes, value=AUTO_CLASS,
                                           label='Highlighted class (t-SNE)', interactive=True)
                analyse_button = gr.Button('Compute figures', variant='primary',
                                           elem_id='analysis-button')
            figure_plots = [gr.Plot(label=kind.title, elem_id=f'{name}-plot')
                            for name, kind in image_kinds().items()]
            with gr.Row():
                formats = gr.CheckboxGroup(list(FIGURE_FORMATS), value=list(FIGURE_FORMATS),
                                           label='Paper formats')
                export_button = gr.Button('Export figures (matplotlib)', elem_id='export-button')
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

        # /compare: the documented API endpoint (its widgets are not shown in the page)
        with gr.Group(visible=False):
            api_image = uploaded_image(label='image')
            api_label = uploaded_file(label='label', value=None)
            api_pair = gr.Dropdown(pair_names, value=registry.default, label='pair')
            api_opacity = gr.Slider(0.0, 1.0, value=0.5, label='opacity')
            api_outputs = [gr.Image(label='baseline_overlay', format='png'),
                           gr.Image(label='ssa_overlay', format='png'),
                           gr.Image(label='disagreement', format='png'),
                           gr.JSON(label='statistics')]
            api_button = gr.Button('compare')

        # ------------------------------------------------------------------ events
        # Masks first (what the user waits for), then the tables and plots from the same run.
        # A label that does not fit the image (say, left over from an example) is removed
        # with a warning instead of blocking the masks.
        segment_outputs = [baseline_out, ssa_out, disagreement_out, timing, legend, view,
                           label_in]
        # the Analysis tab's figures belong to the previous image: cleared with each new run
        detail_outputs = [share_plot, share_table, iou_table, mask_files, stats_out,
                          *figure_plots, figure_data, figure_files]

        def on_segment(image_path, label_path, pair_name, alpha):
            if not image_path:      # cleared input: clear the results, no error
                return [None, None, None, '', '', None, gr.skip()]
            run = ComparisonRun(registry, image_path, _path_of(label_path), pair_name,
                                drop_bad_label=True)
            if run.label_problem:
                gr.Warning(html.escape(f'Label removed: {run.label_problem}', quote=False))
            base, ssa = run.overlays(alpha)
            present = stats.classes_present(run.segmentation.baseline.work_mask,
                                              run.segmentation.ssa.work_mask)
            entries = colour.legend_entries(run.pair.classes, run.pair.palette, present)
            notes = '; '.join(run.image.notes)
            timing_md = (f'**Inference time** {views.timing_text(run.stats)} &nbsp; '
                         f'**Disagreement** {100 * run.stats["disagreement_fraction"]:.1f}% '
                         f'of the pixels' + (f'  \n_{html.escape(notes)}_' if notes else ''))
            outputs = [*png_files(base, ssa, run.disagreement()), timing_md,
                       views.legend_html(entries),
                       run.view_state(), None if run.label_problem else gr.skip()]
            _done_with(run)
            return outputs

        def on_details(state):
            stale_analysis = [None] * (len(figure_plots) + 2)
            if not state:
                return [None] * 5 + stale_analysis
            stats = state['stats']
            return [views.pixel_share_figure(stats, state['palette']),
                    views.share_rows(stats), views.iou_rows(stats) or None,
                    state['mask_files'], stats] + stale_analysis

        # Triggered by user actions only (click, upload, clear, choosing a pair or an
        # example), so that clearing the label from ``on_segment`` starts no second run.
        segment_event = dict(fn=on_segment, inputs=[image_in, label_in, pair_choice, opacity],
                             outputs=segment_outputs, api_visibility='private',
                             concurrency_id=MODEL_QUEUE, concurrency_limit=model_concurrency)
        details_event = dict(fn=on_details, inputs=view, outputs=detail_outputs,
                             api_visibility='private', concurrency_id='details',
                             concurrency_limit=4)
        gr.on([run_button.click, image_in.upload, label_in.upload, label_in.clear,
               pair_choice.input], trigger_mode='always_last', **segment_event
              ).then(**details_event)
        image_in.clear(lambda: [None, None, None, '', '', None, gr.skip()], None,
                       segment_outputs, api_visibility='private', queue=False
                       ).then(**details_event)
        if example_table is not None:
            example_table.load_input_event.success(**segment_event).then(**details_event)

        def on_opacity(state, alpha):
            if not state:
                return gr.skip(), gr.skip()
            base_mask, ssa_mask = state['masks']
            return tuple(png_files(
                colour.overlay(state['work'], base_mask, state['palette'], alpha,
                                state['num_classes']),
                colour.overlay(state['work'], ssa_mask, state['palette'], alpha,
                                state['num_classes'])))

        opacity.release(on_opacity, [view, opacity], [baseline_out, ssa_out],
                        api_visibility='private', concurrency_limit=4,
                        trigger_mode='always_last')

        def on_pair(pair_name):
            return gr.update(choices=_class_choices(registry, pair_name), value=AUTO_CLASS)

        pair_choice.change(on_pair, pair_choice, class_choice, api_visibility='private',
                           concurrency_id=MODEL_QUEUE)

        analyse_button.click(lambda state, name: analysis_figures(registry, state, name),
                             [view, class_choice],
                             [*figure_plots, figure_data],
                             api_visibility='private', concurrency_id=MODEL_QUEUE,
                             concurrency_limit=model_concurrency)
        set_button.click(lambda name, pair: set_figure(registry, pair, name),
                         [set_choice, pair_choice], [set_plot, set_caption],
                         api_visibility='private', concurrency_id=MODEL_QUEUE,
                         concurrency_limit=model_concurrency)
        export_button.click(export_figures, [figure_data, formats], figure_files,
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
                         'the baseline overlay, the SSA-Seg overlay, the disagreement map and '
                         'the statistics (pixel share per class, inference times, and with a '
                         'label per-class IoU and mIoU) as JSON.')
    return demo


def _class_choices(registry: PairRegistry, pair_name: Optional[str]) -> List[str]:
    try:
        return [AUTO_CLASS] + list(registry.get(pair_name).classes)
    except PairError:
        return [AUTO_CLASS]


# --------------------------------------------------------------------------- analysis tab

def analysis_figures(registry: PairRegistry, state: Optional[dict], class_name: Optional[str]):
    """Every registered per-image figure (plotly) for the current image, in ``FIGURES`` order.

    Returns the figures and, last, their data objects by kind (kept for :func:`export_figures`)."""
    if not state:
        raise user_error('Segment an image in the Segment tab first.', 'No image yet')
    try:
        pair = registry.get(state['pair'])
    except PairError as err:
        raise user_error(err, 'Model pair unavailable') from None
    label = state.get('label')
    highlight = None if class_name in (None, '', AUTO_CLASS) else class_name
    try:
        image = image_io.load_image(state['work'])
        image.name = state.get('name', '')
        ssa = extract(pair.ssa, image, label, model_name=pair.model_names['ssa'])
        base = None
        if any(kind.uses_baseline for kind in image_kinds().values()):
            base = extract(pair.baseline, image, label, model_name=pair.model_names['baseline'])
        bundles = {name: figure(name, ssa, base, class_name=highlight) for name in image_kinds()}
    except (ValueError, KeyError) as err:
        raise user_error(err, 'Cannot draw these figures') from None
    except Exception as err:
        log.exception('analysis failed')
        raise user_error(f'{type(err).__name__}: {err}', 'Analysis failed') from None
    return (*(b.figure for b in bundles.values()), {name: b.data for name, b in bundles.items()})


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


def export_figures(data: Optional[dict], formats: Sequence[str] = FIGURE_FORMATS) -> List[str]:
    """Paper versions (matplotlib) of the computed figures, one file per figure and format."""
    if not data:
        raise user_error('Compute the figures first.', 'Nothing to export')
    chosen = [f for f in FIGURE_FORMATS if f in (formats or ())]
    if not chosen:
        raise user_error('Choose at least one format (PNG, SVG or PDF).', 'Nothing to export')
    folder = _scratch_dir()
    try:
        return [export_matplotlib(figure_data, folder / f'{stem}.{fmt}')
                for stem, figure_data in data.items() for fmt in chosen]
    except Exception as err:
        log.exception('export failed')
        raise user_error(f'{type(err).__name__}: {err}', 'Export failed') from None
