"""Command line: paper figures for your own checkpoints and images.

    python -m analysis tsne      --image I [--label L] [--class NAME] --out fig.pdf
    python -m analysis relations --image I [--label L] [--classes present|all|K|a,b] --out r.svg
    python -m analysis shift     --image I [--label L] --out s.png --json shift.json
    python -m analysis all       --image-dir DIR [--label-dir DIR] --out-dir OUT --format pdf,png
    python -m analysis curves    --out curves.pdf [--json numbers.json]
    python -m analysis paper     --out DIR [--image-dir DIR --label-dir DIR]
    python -m analysis dataset   --data-root DIR [--split val] --out DIR

One subcommand per registered figure kind (``analysis.figures.FIGURES``), plus ``all`` (every
per-image kind), ``paper`` (every figure of the paper, numbers.json and report.html; see
:mod:`analysis.report`) and ``dataset`` (both models over a data set; see
:mod:`analysis.dataset.cli`). Set-level kinds (distillation, curves, offsets, intraclass,
gradcam) and ``paper`` work on labelled images: ``--image-dir``/``--label-dir``, or for the
SynthScenes demo pair its first ``--num-images`` val images.
Models, the same on every command (:mod:`analysis.pair_args`): ``--baseline CONFIG
CHECKPOINT --ssa CONFIG CHECKPOINT [--ablation CONFIG CHECKPOINT]`` (a per-image figure needs
only ``--ssa``), or a pair of the model zoo (``--pair NAME``, default its first pair;
``--manifest FILE`` for another zoo). The output format follows the suffix of ``--out``:
.pdf/.svg/.png (matplotlib, for papers), .html (interactive plotly, self-contained) or .json
(the numbers, where a figure has them).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from . import io as image_io
from . import style
from .figures import FIGURES, FORMATS, ROLES, export_figure, image_kinds, set_kinds
from .pair_args import add_pair_arguments, fail, parse_pair

OUT_SUFFIXES = tuple('.' + f for f in FORMATS)
BATCH_FORMATS = ('pdf', 'svg', 'png', 'html')


# --------------------------------------------------------------------------- the parser

def _image_set_arguments(parser, what: str) -> None:
    group = parser.add_argument_group('labelled images')
    group.add_argument('--image-dir', help=f'{what}: the images of this folder')
    group.add_argument('--label-dir', help='their labels, matched to images by file stem')
    group.add_argument('--num-images', type=int, default=None,
                       help='how many labelled images (default: all of --image-dir; the demo '
                            'pair: its first 16 val images)')


def _column_argument(parser) -> None:
    parser.add_argument('--column', choices=tuple(style.COLUMNS), default=None,
                        help='paper width of .pdf/.svg/.png figures: one (3.4 in) or two '
                             '(7 in) columns (default: each figure\'s natural width)')


def _add_image_command(subparsers, name: str, kinds: Sequence[str], help: str) -> None:
    """A per-image command: ``--image`` or ``--image-dir``, the kinds' own options."""
    sub = subparsers.add_parser(name, help=help, description=help)
    optional = ('baseline',) if any(FIGURES[k].uses_baseline for k in kinds) else ()
    add_pair_arguments(sub, need=('ssa',), optional=optional)
    if optional:
        sub.add_argument('--no-baseline', action='store_true',
                         help='the SSA-Seg model only (a zoo pair brings its baseline)')
    sub.add_argument('--device', default='cpu')
    io = sub.add_argument_group('inputs and outputs')
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
    _column_argument(io)
    for kind in kinds:
        FIGURES[kind].add_arguments(sub.add_argument_group(f'{kind} figure'))
    sub.set_defaults(func=run_image_command, kinds=tuple(kinds), command_parser=sub)


def _add_set_command(subparsers, name: str) -> None:
    kind = FIGURES[name]
    sub = subparsers.add_parser(name, help=kind.title, description=kind.title)
    add_pair_arguments(sub, need=kind.roles,      # the figure loads what it draws
                       optional=tuple(r for r in ROLES if r not in kind.roles), check_files=False)
    sub.add_argument('--device', default='cpu')
    sub.add_argument('--out', help='output figure: ' + ', '.join(OUT_SUFFIXES))
    sub.add_argument('--json', help='also write the numbers as JSON')
    _column_argument(sub)
    _image_set_arguments(sub, 'the figure')
    kind.add_arguments(sub.add_argument_group(f'{name} figure'))
    sub.set_defaults(func=run_set_figure, command_parser=sub)


def _add_paper_command(subparsers) -> None:
    help = 'every figure of the paper, numbers.json and report.html'
    sub = subparsers.add_parser('paper', help=help, description=help)
    add_pair_arguments(sub, need=('baseline', 'ssa'), optional=('ablation',))
    sub.add_argument('--device', default='cpu')
    sub.add_argument('--out', required=True, metavar='DIR', help='folder to write')
    _column_argument(sub)
    _image_set_arguments(sub, 'the set-level figures')
    sub.set_defaults(func=run_paper, command_parser=sub)


def build_parser() -> argparse.ArgumentParser:
    from .dataset.cli import add_dataset_command

    parser = argparse.ArgumentParser(
        prog='python -m analysis', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    subparsers = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for name, kind in image_kinds().items():
        _add_image_command(subparsers, name, [name], kind.title)
    _add_image_command(subparsers, 'all', list(image_kinds()), 'every per-image figure')
    for name in set_kinds():
        _add_set_command(subparsers, name)
    _add_paper_command(subparsers)
    add_dataset_command(subparsers)
    return parser


# --------------------------------------------------------------------------- jobs

@dataclass
class Job:
    image: Path
    label: Optional[Path]
    outputs: Dict[str, List[Path]]     # figure kind -> output paths
    json: Optional[Path] = None        # the numbers of the figure that has them
    column: Optional[str] = None       # paper width (None: each figure's natural one)


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


def _json_kind(kinds: Sequence[str]) -> Optional[str]:
    return next((k for k in kinds if FIGURES[k].to_json is not None), None)


def _figure_set(image: Path, label: Optional[Path], kinds: List[str], out_dir: Path,
                formats: List[str], json_path: Optional[Path] = None) -> Job:
    outputs = {k: [out_dir / f'{image.stem}_{k}.{f}' for f in formats] for k in kinds}
    numbers = _json_kind(kinds)
    if json_path is None and numbers is not None:
        json_path = out_dir / f'{image.stem}_{numbers}.json'
    return Job(image, label, outputs, json_path)


def _single_image_jobs(args, kinds: List[str], json_path: Optional[Path]) -> List[Job]:
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


def plan_jobs(args) -> List[Job]:
    kinds = list(args.kinds)
    if args.image and args.image_dir:
        fail('give either --image or --image-dir, not both')
    if args.json and _json_kind(kinds) is None:
        fail(f'--json: the {args.command} figure has no numbers to write')
    json_path = Path(args.json) if args.json else None
    if args.image:
        return _single_image_jobs(args, kinds, json_path)
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
        written += [export_figure(data, path, figure=figure, column=job.column)
                    for path in paths]
    if job.json is not None:
        kind = FIGURES[_json_kind(list(job.outputs) or list(image_kinds()))]
        data = computed.get(kind.name) or kind.data(ssa, base, **options.get(kind.name, {}))
        written.append(export_figure(data, job.json))
    return written


def figure_options(args, kinds: Sequence[str],
                   class_names: Sequence[str] = ()) -> Dict[str, dict]:
    """Each kind's options from the flags (:meth:`FigureKind.option_values`), with the
    options that name classes checked against the model's ``class_names`` when given."""
    options = {}
    try:
        for name in kinds:
            kind = FIGURES[name]
            options[name] = kind.option_values(vars(args))
            if class_names:
                options[name] = kind.with_classes(options[name], class_names)
    except (ValueError, KeyError) as err:
        fail(err.args[0])
    return options


def _load_model(spec, device: str):
    try:
        return spec.init(device)
    except FileNotFoundError as err:
        fail(str(err))


def run_image_command(args, pair) -> int:
    """A per-image command: figures of one image (``--image``) or of a folder."""
    figure_options(args, args.kinds)            # flag errors before any model is loaded
    jobs = plan_jobs(args)
    base_spec = None if getattr(args, 'no_baseline', True) else pair.baseline
    needs_baseline = any(FIGURES[k].uses_baseline for j in jobs for k in j.outputs)
    ssa_model = _load_model(pair.ssa, args.device)
    base_model = _load_model(base_spec, args.device) if base_spec and needs_baseline else None
    options = figure_options(args, args.kinds, list(ssa_model.dataset_meta.get('classes') or []))

    from tqdm import tqdm
    written = []
    for job in jobs:
        job.column = args.column
    for job in tqdm(jobs, desc='figures', unit='image', disable=not args.image_dir,
                    file=sys.stderr):
        written += run_job(job, (ssa_model, base_model),
                           (pair.ssa.name, base_spec.name if base_spec else ''), options,
                           args.reduce_zero_label)
    for path in written:
        print(path)
    return 0


# --------------------------------------------------------------------------- set level

def figure_set_from_args(args, pair, progress=None):
    """The :class:`~analysis.figureset.FigureSet` of ``pair`` and ``--image-dir`` /
    ``--label-dir`` (or, for the demo pair, its val images)."""
    from .figureset import DEFAULT_NUM_IMAGES, figure_set_from_pair
    if args.num_images is not None and args.num_images < 1:
        fail('--num-images must be at least 1')
    images = None
    if args.image_dir:
        if not Path(args.image_dir).is_dir():
            fail(f'image folder not found: {args.image_dir}')
        if args.label_dir and not Path(args.label_dir).is_dir():
            fail(f'label folder not found: {args.label_dir}')
        images = image_io.labelled_images(args.image_dir, args.label_dir, args.num_images)
        if not images:
            fail(f'no images in {args.image_dir}')
    try:
        return figure_set_from_pair(pair, images, args.num_images or DEFAULT_NUM_IMAGES,
                                    args.device, progress)
    except ValueError as err:
        fail(str(err))


def run_set_figure(args, pair) -> int:
    """A set-level kind: ``--out FILE`` (any format) and/or ``--json FILE``."""
    from ssa_seg.checkpoint import CheckpointError

    kind = FIGURES[args.command]
    if not args.out and not args.json:
        fail(f'give --out FILE ({", ".join(OUT_SUFFIXES)}) and/or --json FILE')
    if args.out:
        _check_out(args.out, args.command)
    options = figure_options(args, [kind.name])
    figure_set = figure_set_from_args(args, pair)
    try:
        data = kind.data(figure_set, **options[kind.name])
    except (ValueError, KeyError, FileNotFoundError, CheckpointError) as err:
        fail(err.args[0] if isinstance(err, KeyError) else str(err))   # KeyError: no quotes
    written = [export_figure(data, args.out, column=args.column)] if args.out else []
    if args.json:
        written.append(export_figure(data, args.json))
    for path in written:
        print(path)
    return 0


def run_paper(args, pair) -> int:
    """Every paper figure, numbers.json and report.html (:func:`analysis.report.write_paper`)
    with a progress bar."""
    import time

    from tqdm import tqdm

    from .report import paper_steps, write_paper

    start = time.perf_counter()
    bar = tqdm(total=1, desc='paper', unit='step', file=sys.stderr)

    def step(text):
        bar.set_postfix_str(text)
        bar.update(1)

    figure_set = figure_set_from_args(args, pair, progress=step)
    bar.total = paper_steps(figure_set)
    bar.refresh()
    try:
        written = write_paper(figure_set, args.out, step, column=args.column)
    except ValueError as err:
        fail(str(err))
    finally:
        bar.close()
    for path in written:
        print(path)
    print(f'paper figures in {time.perf_counter() - start:.0f} s', file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- main

def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    pair = parse_pair(args.command_parser, args)
    return args.func(args, pair)


__all__ = ['build_parser', 'main']
