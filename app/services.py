"""What the page and the API compute, as plain functions the tests call without a browser:
one comparison (:class:`ComparisonRun`, the ``/compare`` endpoint) and the analysis figures
of an image (the Analysis tab, ``/figures`` and ``/shift``) or of a pair (set-level figures).

Nothing here computes a mask, a colour or a number itself: every value comes from
``analysis`` (or ``ssa_seg``); these functions load the inputs, call it, and turn expected
failures into the page's messages (:mod:`app.errors`).
"""
from __future__ import annotations

import functools
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional

from analysis import colour, inspect, stats
from analysis import io as image_io
from analysis.extract import extract
from analysis.figures import FIGURES, figure, image_figures, image_kinds, timing_note

from .errors import log, user_error, user_errors
from .export import export_figures
from .files import path_of, png_files, safe_stem, scratch_dir, trim_heap
from .pairs import PairError, PairRegistry
from .state import FigureSetCache, ImageView, InspectionStore, SegmentView

EXAMPLES_DIR = Path(__file__).resolve().parent / 'examples'
TRIM_AFTER_PIXELS = 4_000_000     # images above this are followed by a malloc_trim
AUTO_CLASS = '(auto)'               # t-SNE highlights the analysis toolkit's default class
SET_IMAGES = 8                      # val images of a set-level figure
# ``progress(fraction, desc)``: what gr.Progress accepts; a reference model takes seconds on CPU
Progress = Callable[..., object]
FIGURE_SETS = FigureSetCache()      # shared by every session
# the pixel inspector's data of the latest images: 4.8 MB per demo image (two top-5
# tables at 256 x 256 and the SSA feature maps), about 65 MB for a 1024 x 1024 image
INSPECTIONS = InspectionStore(max_bytes=256 * 2**20)
# The top-5 tables cost 30 ms per demo image and about 1 s per model for 150 classes at
# 683 x 512: built in this thread after the segmentation has answered. A build holds both
# models' image-size logits until it is done, so at most MAX_BUILDING wait; beyond that
# the segmentation builds its own (and takes the time).
INSPECTION_BUILDER = ThreadPoolExecutor(max_workers=1, thread_name_prefix='inspection')
MAX_BUILDING = 2


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


def reporter(progress: Optional[Progress]) -> Callable[[float, str], None]:
    """``step(fraction, desc)`` that tells ``progress`` (if any) how far a long call is."""
    def step(fraction: float, desc: str) -> None:
        if progress is not None:
            progress(fraction, desc=desc)
    return step


def image_error_title(err: Exception) -> str:
    """The message's title for an image ``analysis.io`` refused: an image it read and found
    too large (its header's size over the pixel limit, or a decompression bomb; the
    messages give the limit in megapixels) says so."""
    return 'Image too large' if 'megapixels' in str(err) else 'Cannot read this image'


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
        raise user_error(err, image_error_title(err)) from None
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
        step = reporter(progress)

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
                                                   self.image, before=starting,
                                                   keep_internals=True)
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

    def work_label(self):
        """The label at the processing size, or None."""
        return None if self.label is None else \
            image_io.upsample_nearest(self.label, self.image.work_size)

    def inspection(self) -> Callable[[], inspect.PixelInspection]:
        """What builds the pixel inspector's data of this run (no model runs again); it
        holds what it needs, so it can run after :func:`done_with`."""
        names = self.pair.model_names
        return functools.partial(inspect.inspection_of, self.segmentation, self.pair.ssa,
                                 self.image, self.pair.classes,
                                 (names['baseline'], names['ssa']), self.work_label())

    def view_state(self) -> SegmentView:
        """What later events need (redraws, the tables, the Analysis tab), kept per session:
        the processed image and masks, the label at that size, the statistics and files.
        The pixel inspector's data goes to :data:`INSPECTIONS` under the view's key."""
        label = self.work_label()
        masks = (self.segmentation.baseline.work_mask, self.segmentation.ssa.work_mask)
        view = SegmentView(
            pair=self.pair.name, work=self.image.work, label=label,
            name=self.image.name or 'image', size=self.image.size,
            model_names=dict(self.pair.model_names), masks=masks, palette=self.pair.palette,
            num_classes=self.pair.num_classes, classes=list(self.pair.classes),
            stats=self.stats,
            present=stats.classes_present(*masks, *(() if label is None else (label,))),
            hatched=colour.similar_colour_classes(self.pair.palette, self.pair.num_classes),
            breakdown=None if label is None else stats.error_breakdown(*masks, label),
            mask_files=self.mask_files(), key=uuid.uuid4().hex)
        if INSPECTIONS.building < MAX_BUILDING:
            INSPECTIONS.put_building(view.key, INSPECTION_BUILDER.submit(self.inspection()))
        else:
            INSPECTIONS.put(view.key, self.inspection()())
        return view

    def mask_files(self) -> List[str]:
        """Full-size indexed PNG masks, named ``<image>_<model>_mask.png``."""
        folder = scratch_dir()
        stem = safe_stem(self.image.name or 'image')
        paths = []
        for role, seg in self.segmentation:
            path = folder / f'{stem}_{safe_stem(self.pair.model_names[role], role)}_mask.png'
            path.write_bytes(colour.mask_to_png_bytes(seg.mask, self.pair.palette,
                                                       self.pair.num_classes))
            paths.append(str(path))
        return paths


def done_with(run: ComparisonRun) -> None:
    """After a large image, free its image-size arrays now and hand the freed heap pages
    back to the system, so that the server's resident memory returns to its idle level."""
    height, width = run.image.size
    run.__dict__.clear()
    if height * width > TRIM_AFTER_PIXELS:
        trim_heap()


def api_compare(registry: PairRegistry, image, label=None, pair_name=None, opacity=0.5):
    """The ``/compare`` endpoint: (baseline overlay, SSA-Seg overlay, disagreement map) as PNG
    files at the processing size, the statistics, then both class-index masks (indexed PNG
    at the image's size, named ``<image>_<model>_mask.png``)."""
    run = ComparisonRun(registry, path_of(image), path_of(label), pair_name)
    base, ssa = run.overlays(0.5 if opacity is None else float(opacity))
    outputs = (*png_files(base, ssa, run.disagreement()), run.stats, *run.mask_files())
    done_with(run)
    return outputs


# --------------------------------------------------------------------------- inspector

def inspect_pixel(registry: PairRegistry, view: Optional[SegmentView], row, col
                  ) -> inspect.PixelReport:
    """The inspector's answer for pixel (``row``, ``col``) of the processing-size image in
    ``view``, from what its segmentation kept; if that was dropped (memory bound), both
    models run once more on the image and the result is kept again."""
    if not view:
        raise user_error('Segment an image first, then click a pixel.', 'No image yet')
    inspection = INSPECTIONS.get(view.key)
    if inspection is None:
        with user_errors('Cannot inspect this pixel'):
            pair = registry.get(view.pair)
            image = image_io.load_image(view.work)
            names = pair.model_names
            inspection = inspect.inspect_image(pair.baseline, pair.ssa, image, pair.classes,
                                               (names['baseline'], names['ssa']), view.label)
        INSPECTIONS.put(view.key, inspection)
    try:
        return inspect.pixel(inspection, row, col)
    except ValueError as err:
        raise user_error(err, 'Cannot inspect this pixel') from None


def api_inspect(registry: PairRegistry, image, y, x, label=None, pair_name=None) -> dict:
    """The ``/inspect`` endpoint: the inspector's numbers at pixel (``y``, ``x``) of the image
    (its own coordinates; an image the models see smaller is read at the matching pixel of
    the processing size) as JSON (``analysis.inspect.PixelReport.to_json``)."""
    pair, loaded, label_map = load_inputs(registry, path_of(image), path_of(label), pair_name)
    try:
        y, x = inspect.check_pixel(y, x, loaded.size)
    except ValueError as err:
        raise user_error(err, 'Cannot inspect this pixel') from None
    (height, width), (h, w) = loaded.size, loaded.work_size
    work_label = None if label_map is None else image_io.upsample_nearest(label_map, (h, w))
    names = pair.model_names
    with user_errors('Cannot inspect this pixel'):
        inspection = inspect.inspect_image(pair.baseline, pair.ssa, loaded, pair.classes,
                                           (names['baseline'], names['ssa']), work_label)
    report = inspect.pixel(inspection, y * h // height, x * w // width).to_json()
    report.update(pixel=[y, x], image_size=[height, width])
    if (h, w) != (height, width):
        report['processed_at'] = [h, w]
    return report


# --------------------------------------------------------------------------- analysis

def _extractions(registry: PairRegistry, view: Optional[ImageView], with_baseline: bool,
                 step: Callable[[float, str], None]):
    """(pair, SSA-Seg extraction, baseline extraction or None) of the image in ``view``
    (:func:`analysis.extract.extract` on its processing-size image and label)."""
    if not view:
        raise user_error('Segment an image in the Segment tab first.', 'No image yet')
    try:
        pair = registry.get(view.pair)
    except PairError as err:
        raise user_error(err, 'Model pair unavailable') from None
    image = image_io.load_image(view.work)
    image.name = view.name
    step(0.0, 'Features and prototypes of the SSA-Seg model')
    ssa = extract(pair.ssa, image, view.label, model_name=pair.model_names['ssa'])
    base = None
    if with_baseline:
        step(0.3, 'Features of the baseline')
        base = extract(pair.baseline, image, view.label,
                       model_name=pair.model_names['baseline'])
    return pair, ssa, base


def analysis_figures(registry: PairRegistry, view: Optional[ImageView],
                     class_name: Optional[str], options: Optional[Dict[str, dict]] = None,
                     progress: Optional[Progress] = None, plotly: bool = True):
    """Every registered per-image figure (plotly) for the image in ``view``, in ``FIGURES``
    order, each title ending with the seconds it took (``analysis.figures.timing_note``).

    ``options``: each kind's keyword options (``app.tabs.analysis.options_by_kind``); the
    highlighted class goes to every kind. ``progress(fraction, desc=...)`` is told each step
    (the page passes gr.Progress). Returns the figures and, last, their data objects by kind
    (kept for :func:`app.export.export_figures`); ``plotly=False``: the data objects only."""
    step = reporter(progress)
    highlight = None if class_name in (None, '', AUTO_CLASS) else class_name
    with user_errors('Cannot draw these figures'):
        _, ssa, base = _extractions(registry, view, any(k.uses_baseline
                                                        for k in image_kinds().values()), step)
        done = image_figures(ssa, base, options, highlight, plotly=plotly,
                             before=lambda i, n, title: step(0.5 + 0.5 * i / n,
                                                             f'Figure: {title}'))
    for name, fig in done.figures.items():
        fig.update_layout(title_text=f'{fig.layout.title.text or ""} · '
                                     f'{timing_note({name: done.seconds[name]})}')
    return (*done.figures.values(), done.data)


def shift_numbers(registry: PairRegistry, view: Optional[ImageView]) -> dict:
    """The ``shift`` figure kind's numbers (its ``to_json``) for the image in ``view``:
    the SSA-Seg model only, no figure drawn."""
    kind = FIGURES['shift']
    with user_errors('Cannot compute the shift'):
        _, ssa, _ = _extractions(registry, view, False, reporter(None))
        return kind.to_json(kind.data(ssa))


def analysis_state(registry: PairRegistry, image, label=None, pair_name=None) -> ImageView:
    """What the Analysis tab needs of an image (its processing-size image, the label at
    that size, names), from an image and optional label file, without segmenting."""
    pair, loaded, label_map = load_inputs(registry, path_of(image), path_of(label), pair_name)
    return ImageView(pair=pair.name, work=loaded.work, name=loaded.name or 'image',
                     size=loaded.size, model_names=dict(pair.model_names),
                     label=None if label_map is None else
                     image_io.upsample_nearest(label_map, loaded.work_size))


def api_figures(registry: PairRegistry, image, label=None, pair_name=None,
                class_name=None):
    """The ``/figures`` endpoint: every per-image figure as a PNG file (the paper version,
    :func:`analysis.figures.export_figure`; plus the ``.json`` numbers of the kinds that
    have them), named ``<image>_<model>_<figure>``, and the shift numbers as JSON."""
    view = analysis_state(registry, image, label, pair_name)
    *_, data = analysis_figures(registry, view, class_name or None, plotly=False)
    return export_figures(data, ['png'], view), FIGURES['shift'].to_json(data['shift'])


def api_shift(registry: PairRegistry, image, label=None, pair_name=None) -> dict:
    """The ``/shift`` endpoint: the prototype-shift numbers (as ``python -m analysis shift
    --json``) of the SSA-Seg model on the image."""
    return shift_numbers(registry, analysis_state(registry, image, label, pair_name))


def set_figure(registry: PairRegistry, pair_name: Optional[str], kind_name: str):
    """A set-level figure (plotly) and its caption for a zoo pair: the demo pair's val
    images (see :mod:`analysis.figureset`); the pair's extractions are kept for the next."""
    from analysis.figureset import figure_set_from_pair

    def build():
        figure_set = figure_set_from_pair(loaded.spec, num_images=SET_IMAGES)
        # the pair's models are already loaded: lend them (the ablation loads on demand)
        figure_set.use_model('baseline', loaded.baseline)
        figure_set.use_model('ssa', loaded.ssa)
        return figure_set

    try:
        loaded = registry.get(pair_name or None)
        bundle = figure(kind_name, FIGURE_SETS.get(loaded.spec.name, build))
    except (PairError, ValueError, KeyError, FileNotFoundError) as err:
        raise user_error(err, 'Cannot draw this figure') from None
    caption = FIGURES[kind_name].caption
    return bundle.figure, caption(bundle.data) if caption else ''
