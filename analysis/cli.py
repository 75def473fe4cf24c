"""Command line: paper figures for your own checkpoints and images.

    python -m analysis tsne      --image I [--label L] [--class NAME] --out fig.pdf
    python -m analysis relations --image I [--label L] [--classes present|all|K|a,b] --out r.svg
    python -m analysis shift     --image I [--label L] --out s.png --json shift.json
    python -m analysis all       --image-dir DIR [--label-dir DIR] --out-dir OUT --format pdf,png
    python -m analysis curves    --out curves.pdf [--pair NAME] [--json numbers.json]
    python -m analysis paper     --out DIR [--pair NAME] [--image-dir DIR --label-dir DIR]
    python -m analysis dataset   --data-root DIR [--split val] --out DIR   (analysis.dataset.cli)

One command per registered figure kind (``analysis.figures.FIGURES``), plus ``all`` (every
per-image kind) and ``paper`` (every figure of the paper, numbers.json and report.html; see
:mod:`analysis.report`). Set-level kinds (distillation, curves, offsets, intraclass, gradcam)
work on a zoo pair and a set of labelled images: ``--image-dir``/``--label-dir``, or for the
SynthScenes demo pair its first ``--num-images`` val images.
Models: ``--config C --checkpoint K`` (the SSA-Seg model; ``--baseline-config`` /
``--baseline-checkpoint`` add the baseline beside it where a figure draws both), or nothing,
which takes the default pair of the model zoo (``ssa_seg.zoo``; ``--pair NAME`` for another,
``--manifest FILE`` for another zoo). The output format follows the suffix of ``--out``:
.pdf/.svg/.png (matplotlib, for papers), .html (interactive plotly, self-contained) or .json
(the numbers, where a figure has them).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import io as image_io
from .figures import FIGURES, FORMATS, export_figure, image_kinds

OUT_SUFFIXES = tuple('.' + f for f in FORMATS)
BATCH_FORMATS = ('pdf', 'svg', 'png', 'html')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m analysis', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('command', choices=(*FIGURES, 'all', 'paper'),
                        help='which figure to make (paper: all of them, with a report)')
    m = parser.add_argument_group('models')
    m.add_argument('--config', help='SSA-Seg model config (default: the zoo pair)')
    m.add_argument('--checkpoint', help='SSA-Seg model checkpoint')
    m.add_argument('--baseline-config', help='baseline config (drawn beside SSA-Seg)')
    m.add_argument('--baseline-checkpoint', help='baseline checkpoint')
    m.add_argument('--no-baseline', action='store_true', help='the SSA-Seg model only')
    m.add_argument('--manifest', help='model zoo manifest (default: $SSA_SEG_MANIFEST or '
                                      'checkpoints/manifest.yaml)')
    m.add_argument('--pair', help='zoo pair name (default: the first pair)')
    m.add_argument('--device', default='cpu')
    io = parser.add_argument_group('inputs and outputs')
    io.add_argument('--image', help='input image')
    io.add_argument('--label', help='optional label map (H x W class ids, 255 = ignore)')
    io.add_argument('--reduce-zero-label', action='store_true',
                    help='label 0 means "other" (ADE20K style): use label - 1')
    io.add_argument('--out', help='output figure: ' + ', '.join(OUT_SUFFIXES))
    io.add_argument('--json', help='also write the numbers as JSON (figures that have them)')
    io.add_argument('--image-dir', help='batch mode: every image in this folder')
    io.add_argument('--label-dir', help='batch mode: labels, matched to images by file stem')
    io.add_argument('--out-dir', help='batch mode (and "all"): folder for the figure set')
    io.add_argument('--format', default='pdf',
                    help='batch mode: comma-separated formats (pdf,svg,png,html); default pdf')
    io.add_argument('--num-images', type=int, default=None,
                    help='set-level figures and paper: how many labelled images (default: '
                         'all of --image-dir; the demo pair: 16 val images)')
    for kind in FIGURES.values():
        if kind.add_arguments is not None:
            kind.add_arguments(parser.add_argument_group(f'{kind.name} figure'))
    return parser


def fail(message: str):
    raise SystemExit(f'error: {message}')


# --------------------------------------------------------------------------- models

def resolve_models(args):
    """(SSA-Seg model, optional baseline) as :class:`ssa_seg.zoo.ZooModel`, from the flags or
    the zoo."""
    from ssa_seg.zoo import ManifestError, ZooModel, load_zoo

    if args.checkpoint and not args.config:
        fail('--checkpoint needs --config')
    if args.baseline_checkpoint and not args.baseline_config:
        fail('--baseline-checkpoint needs --baseline-config')
    for flag in ('config', 'checkpoint', 'baseline_config', 'baseline_checkpoint', 'manifest'):
        value = getattr(args, flag)
        if value and not Path(value).is_file():
            fail(f'{flag.replace("_", "-")} not found: {value}')
    baseline = None
    if args.baseline_config:
        baseline = ZooModel('baseline', args.baseline_config, args.baseline_checkpoint)
    if args.config:
        if not args.checkpoint:
            warnings.warn('no --checkpoint: the model keeps its random initialisation',
                          stacklevel=2)
        ssa = ZooModel(Path(args.config).stem, args.config, args.checkpoint)
        return ssa, (None if args.no_baseline else baseline)
    try:
        pair = load_zoo(args.manifest).pair(args.pair).check_files()
    except ManifestError as err:
        fail(f'no --config given and the model zoo cannot be used: {err}')
    return pair.ssa, (None if args.no_baseline else (baseline or pair.baseline))


def load_model(spec, device: str):
    try:
        return spec.init(device)
    except FileNotFoundError as err:
        fail(str(err))


# --------------------------------------------------------------------------- jobs

@dataclass
class Job:
    image: Path
    label: Optional[Path]
    outputs: Dict[str, List[Path]]     # figure kind -> output paths
    json: Optional[Path] = None        # the numbers of the figure that has them


def _check_out(path: str, command: str):
    suffix = Path(path).suffix.lower()
    if suffix not in OUT_SUFFIXES:
        fail(f'--out {path}: unsupported format {suffix or "(none)"}; '
             f'use one of {", ".join(OUT_SUFFIXES)}')
    if suffix == '.json' and FIGURES[command].to_json is None:
        fail(f'--out {path}: the {command} figure has no .json output')


def _formats(spec: str) -> List[str]:
    formats = [f.strip().lower().lstrip('.') for f in spec.split(',') if f.strip()]
    bad = [f for f in formats if f not in BATCH_FORMATS]
    if bad or not formats:
        fail(f'--format {spec}: unsupported {bad or spec}; use {", ".join(BATCH_FORMATS)}')
    return formats


def _check_file(path: Path, what: str = 'Image'):
    try:
        image_io.check_image(path, what)
    except image_io.ImageLoadError as err:
        fail(str(err))


def _json_kind(kinds: List[str]) -> Optional[str]:
    return next((k for k in kinds if FIGURES[k].to_json is not None), None)


def _figure_set(image: Path, label: Optional[Path], kinds: List[str], out_dir: Path,
                formats: List[str], json_path: Optional[Path] = None) -> Job:
    outputs = {k: [out_dir / f'{image.stem}_{k}.{f}' for f in formats] for k in kinds}
    numbers = _json_kind(kinds)
    if json_path is None and numbers is not None:
        json_path = out_dir / f'{image.stem}_{numbers}.json'
    return Job(image, label, outputs, json_path)


def plan_jobs(args) -> List[Job]:
    kinds = list(image_kinds()) if args.command == 'all' else [args.command]
    if args.image and args.image_dir:
        fail('give either --image or --image-dir, not both')
    if args.json and _json_kind(kinds) is None:
        fail(f'--json: the {args.command} figure has no numbers to write')
    json_path = Path(args.json) if args.json else None
    if args.image:
        image = Path(args.image)
        _check_file(image)
        label = Path(args.label) if args.label else None
        if label is not None:
            _check_file(label, 'Label')
        if args.command == 'all' or (args.out_dir and not args.out):
            if not args.out_dir:
                fail('"all" writes a figure set: give --out-dir')
            return [_figure_set(image, label, kinds, Path(args.out_dir), _formats(args.format),
                                json_path)]
        if not args.out and not json_path:
            fail('give --out FILE (' + ', '.join(OUT_SUFFIXES) + ')'
                 + (' and/or --json FILE' if _json_kind(kinds) else ''))
        outputs = {}
        if args.out:
            _check_out(args.out, args.command)
            outputs[args.command] = [Path(args.out)]
        return [Job(image, label, outputs, json_path)]
    if not args.image_dir:
        fail('give --image FILE or --image-dir DIR')
    image_dir = Path(args.image_dir)
    if not image_dir.is_dir():
        fail(f'image folder not found: {image_dir}')
    if not args.out_dir:
        fail('--image-dir needs --out-dir')
    label_dir = Path(args.label_dir) if args.label_dir else None
    if label_dir is not None and not label_dir.is_dir():
        fail(f'label folder not found: {label_dir}')
    formats = _formats(args.format)
    images = image_io.labelled_images(image_dir, label_dir)
    if not images:
        fail(f'no images ({", ".join(image_io.IMAGE_SUFFIXES)}) in {image_dir}')
    return [_figure_set(image, label, kinds, Path(args.out_dir), formats)
            for image, label in images]


def run_job(job: Job, models: Tuple, names: Tuple[str, str], options: Dict[str, dict],
            reduce_zero_label: bool) -> List[str]:
    """Extract once per model, then every figure of the job from those extractions."""
    from .extract import extract

    ssa_model, base_model = models
    kinds = set(job.outputs) | ({_json_kind(list(image_kinds()))} if job.json else set())
    try:
        image = image_io.load_image(job.image)
        ssa = extract(ssa_model, image, job.label, reduce_zero_label=reduce_zero_label,
                      model_name=names[0])
        base = None
        if base_model is not None and any(FIGURES[k].uses_baseline for k in kinds):
            base = extract(base_model, image, job.label, reduce_zero_label=reduce_zero_label,
                           model_name=names[1])
    except (FileNotFoundError, ValueError) as err:
        fail(f'{job.image}: {err}')
    written, computed = [], {}
    for kind_name, paths in job.outputs.items():
        kind = FIGURES[kind_name]
        computed[kind_name] = data = kind.data(ssa, base, **options.get(kind_name, {}))
        figure = kind.plotly(data) if any(p.suffix.lower() == '.html' for p in paths) else None
        written += [export_figure(data, path, figure=figure) for path in paths]
    if job.json is not None:
        kind = FIGURES[_json_kind(list(job.outputs) or list(image_kinds()))]
        data = computed.get(kind.name) or kind.data(ssa, base, **options.get(kind.name, {}))
        written.append(export_figure(data, job.json))
    return written


def figure_options(args, class_names: List[str]) -> Dict[str, dict]:
    """Each kind's options from the flags, with class names checked against the model."""
    from .extract import class_index
    options = {}
    try:
        for kind in FIGURES.values():
            options[kind.name] = kind.options_from_args(args) if kind.options_from_args else {}
        focus = options.get('tsne', {}).get('class_name')
        if focus is not None and class_names:
            options['tsne']['class_name'] = class_index(
                class_names, int(focus) if str(focus).isdigit() else focus)
        chosen = options.get('relations', {}).get('classes')
        if isinstance(chosen, str) and chosen not in ('present', 'all') and class_names:
            for name in chosen.split(','):
                if name.strip():
                    class_index(class_names, name.strip())
    except (ValueError, KeyError) as err:
        fail(err.args[0])
    return options


def figure_set_from_args(args, progress=None):
    """The :class:`~analysis.figureset.FigureSet` of the flags: a zoo pair (``--pair``,
    ``--manifest``) and ``--image-dir``/``--label-dir`` or the demo images."""
    from ssa_seg.zoo import ManifestError, load_zoo

    from .figureset import DEFAULT_NUM_IMAGES, figure_set_from_pair
    if args.config:
        fail('set-level figures work on a zoo pair (--pair, --manifest), not --config')
    if args.num_images is not None and args.num_images < 1:
        fail('--num-images must be at least 1')
    try:
        pair = load_zoo(args.manifest).pair(args.pair)
    except ManifestError as err:
        fail(str(err))
    images = None
    if args.image_dir:
        if not Path(args.image_dir).is_dir():
            fail(f'image folder not found: {args.image_dir}')
        images = image_io.labelled_images(args.image_dir, args.label_dir, args.num_images)
        if not images:
            fail(f'no images in {args.image_dir}')
    try:
        return figure_set_from_pair(pair, images, args.num_images or DEFAULT_NUM_IMAGES,
                                    args.device, progress)
    except ValueError as err:
        fail(str(err))


def run_set_figure(args) -> List[str]:
    """A set-level kind: ``--out FILE`` (any format) and/or ``--json FILE``."""
    kind = FIGURES[args.command]
    if not args.out and not args.json:
        fail(f'give --out FILE ({", ".join(OUT_SUFFIXES)}) and/or --json FILE')
    if args.out:
        _check_out(args.out, args.command)
    options = figure_options(args, [])
    figure_set = figure_set_from_args(args)
    try:
        data = kind.data(figure_set, **options.get(kind.name, {}))
    except (ValueError, KeyError) as err:
        fail(err.args[0])
    written = [export_figure(data, args.out)] if args.out else []
    if args.json:
        written.append(export_figure(data, args.json))
    return written


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == 'dataset':      # a whole data set: its own parser
        from .dataset.cli import main as dataset_main
        return dataset_main(argv[1:])
    args = build_parser().parse_args(argv)
    figure_options(args, [])            # flag errors before any model is loaded
    if args.command == 'paper':
        from .report import run_paper
        return run_paper(args)
    if args.command in FIGURES and FIGURES[args.command].level == 'set':
        for path in run_set_figure(args):
            print(path)
        return 0
    jobs = plan_jobs(args)
    ssa_spec, base_spec = resolve_models(args)
    needs_baseline = any(FIGURES[k].uses_baseline for j in jobs for k in j.outputs)
    ssa_model = load_model(ssa_spec, args.device)
    base_model = load_model(base_spec, args.device) if base_spec and needs_baseline else None
    options = figure_options(args, list(ssa_model.dataset_meta.get('classes') or []))

    from tqdm import tqdm
    written = []
    for job in tqdm(jobs, desc='figures', unit='image', disable=not args.image_dir,
                    file=sys.stderr):
        written += run_job(job, (ssa_model, base_model),
                           (ssa_spec.name, base_spec.name if base_spec else ''), options,
                           args.reduce_zero_label)
    for path in written:
        print(path)
    return 0


__all__ = ['build_parser', 'main']
