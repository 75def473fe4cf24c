"""Command line: paper figures for your own checkpoints and images.

    python -m analysis tsne      --image I [--label L] [--class NAME] --out fig.pdf
    python -m analysis relations --image I [--label L] [--classes present|all|K|a,b] --out r.svg
    python -m analysis shift     --image I [--label L] --out s.png --json shift.json
    python -m analysis all       --image-dir DIR [--label-dir DIR] --out-dir OUT --format pdf,png

Models: ``--config C --checkpoint K`` (the SSA-Seg model; ``--baseline-config`` /
``--baseline-checkpoint`` add the baseline beside it in the t-SNE figure), or nothing, which
takes the default pair of ``checkpoints/manifest.yaml`` (``--pair NAME`` for another one).
The output format follows the suffix of ``--out``: .pdf/.svg/.png (matplotlib, for papers) or
.html (interactive plotly, self-contained).
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

COMMANDS = ('tsne', 'relations', 'shift', 'all')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
OUT_SUFFIXES = ('.pdf', '.svg', '.png', '.html')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m analysis', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('command', choices=COMMANDS, help='which figure to make')
    m = parser.add_argument_group('models')
    m.add_argument('--config', help='SSA-Seg model config (default: the manifest pair)')
    m.add_argument('--checkpoint', help='SSA-Seg model checkpoint')
    m.add_argument('--baseline-config', help='baseline config (t-SNE side by side)')
    m.add_argument('--baseline-checkpoint', help='baseline checkpoint')
    m.add_argument('--no-baseline', action='store_true', help='t-SNE of the SSA-Seg model only')
    m.add_argument('--manifest', help='model manifest (default checkpoints/manifest.yaml)')
    m.add_argument('--pair', help='manifest pair name (default: the first pair)')
    m.add_argument('--device', default='cpu')
    io = parser.add_argument_group('inputs and outputs')
    io.add_argument('--image', help='input image')
    io.add_argument('--label', help='optional label map (H x W class ids, 255 = ignore)')
    io.add_argument('--reduce-zero-label', action='store_true',
                    help='label 0 means "other" (ADE20K style): use label - 1')
    io.add_argument('--out', help='output figure: .pdf, .svg, .png or .html')
    io.add_argument('--json', help='shift: also write the numbers as JSON')
    io.add_argument('--image-dir', help='batch mode: every image in this folder')
    io.add_argument('--label-dir', help='batch mode: labels, matched to images by file stem')
    io.add_argument('--out-dir', help='batch mode (and "all"): folder for the figure set')
    io.add_argument('--format', default='pdf',
                    help='batch mode: comma-separated formats (pdf,svg,png,html); default pdf')
    f = parser.add_argument_group('figure options')
    f.add_argument('--class', dest='class_name', help='t-SNE: class to highlight (name or index)')
    f.add_argument('--max-points', type=int, default=3000, help='t-SNE: pixel sample cap')
    f.add_argument('--domains', default='semantic,spatial',
                   help='t-SNE: panels of the SSA-Seg model, from semantic, spatial, classifier '
                        '(F+Pf with the final centers)')
    f.add_argument('--seed', type=int, default=0, help='t-SNE: seed (same seed, same figure)')
    f.add_argument('--perplexity', type=float, default=30.0)
    f.add_argument('--iterations', default=None, metavar='E,N',
                   help='t-SNE: exaggerated and normal iterations (default 75,150; the '
                        'classic schedule is 250,500)')
    f.add_argument('--backend', choices=('opentsne', 'sklearn'), default=None,
                   help='t-SNE implementation (default: the measured choice)')
    f.add_argument('--classes', default='present',
                   help='relations: present | all | K (top-K by pixels) | comma-separated names')
    f.add_argument('--order', choices=('cluster', 'index'), default='cluster',
                   help='relations: class order')
    f.add_argument('--scale', choices=('log', 'linear'), default='log',
                   help='relations: colour scale (default log: at temperature 15 the diagonal '
                        'dominates and a linear scale shows little else)')
    return parser


def fail(message: str):
    raise SystemExit(f'error: {message}')


# --------------------------------------------------------------------------- models

@dataclass
class ModelSpec:
    name: str
    config: str
    checkpoint: Optional[str]


def resolve_models(args) -> (ModelSpec, Optional[ModelSpec]):
    """The SSA-Seg model and the optional baseline, from the flags or the manifest."""
    if args.checkpoint and not args.config:
        fail('--checkpoint needs --config')
    if args.baseline_checkpoint and not args.baseline_config:
        fail('--baseline-checkpoint needs --baseline-config')
    for flag in ('config', 'checkpoint', 'baseline_config', 'baseline_checkpoint', 'manifest'):
        value = getattr(args, flag)
        if value and not os.path.isfile(value):
            fail(f'{flag.replace("_", "-")} not found: {value}')
    baseline = None
    if args.baseline_config:
        baseline = ModelSpec('baseline', args.baseline_config, args.baseline_checkpoint)
    if args.config:
        ssa = ModelSpec(Path(args.config).stem, args.config, args.checkpoint)
        if not args.checkpoint:
            warnings.warn('no --checkpoint: the model keeps its random initialisation')
        return ssa, (None if args.no_baseline else baseline)
    from ssa_seg.zoo import ManifestError, load_manifest
    try:
        manifest = load_manifest(args.manifest)
        pair = manifest.pair(args.pair)
        ssa_entry = manifest.model(pair['ssa'])
        base_entry = manifest.model(pair['baseline']) if pair.get('baseline') else None
    except ManifestError as err:
        fail(f'no --config given and the model manifest cannot be used: {err}')
    for entry in filter(None, (ssa_entry, base_entry)):
        for key in ('config', 'checkpoint'):
            if not os.path.isfile(entry[key]):
                fail(f'manifest model {entry["name"]!r}: {key} not found: {entry[key]}')
    ssa = ModelSpec(ssa_entry['name'], ssa_entry['config'], ssa_entry['checkpoint'])
    if baseline is None and base_entry is not None:
        baseline = ModelSpec(base_entry['name'], base_entry['config'], base_entry['checkpoint'])
    return ssa, (None if args.no_baseline else baseline)


def load_model(spec: ModelSpec, device: str):
    from ssa_seg.apis import init_model
    try:
        return init_model(spec.config, spec.checkpoint, device=device)
    except FileNotFoundError as err:
        fail(str(err))


# --------------------------------------------------------------------------- jobs

@dataclass
class Job:
    image: Path
    label: Optional[Path]
    outputs: dict          # figure kind -> list of output paths
    json: Optional[Path] = None


def _check_out(path: str, flag: str = '--out'):
    suffix = Path(path).suffix.lower()
    if suffix not in OUT_SUFFIXES:
        fail(f'{flag} {path}: unsupported format {suffix or "(none)"}; '
             f'use one of {", ".join(OUT_SUFFIXES)}')


def _formats(spec: str) -> List[str]:
    formats = [f.strip().lower().lstrip('.') for f in spec.split(',') if f.strip()]
    bad = [f for f in formats if '.' + f not in OUT_SUFFIXES]
    if bad or not formats:
        fail(f'--format {spec}: unsupported {bad or spec}; use pdf, svg, png, html')
    return formats


def _check_image_file(path: Path):
    if not path.is_file():
        fail(f'image not found: {path}')
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError) as err:
        fail(f'not an image file: {path} ({err.__class__.__name__})')


def _find_label(label_dir: Optional[Path], stem: str) -> Optional[Path]:
    if label_dir is None:
        return None
    for suffix in IMAGE_SUFFIXES:
        candidate = label_dir / f'{stem}{suffix}'
        if candidate.is_file():
            return candidate
    return None


def plan_jobs(args) -> List[Job]:
    kinds = ['tsne', 'relations', 'shift'] if args.command == 'all' else [args.command]
    if args.image and args.image_dir:
        fail('give either --image or --image-dir, not both')
    if args.image:
        image = Path(args.image)
        _check_image_file(image)
        label = Path(args.label) if args.label else None
        if label is not None:
            if not label.is_file():
                fail(f'label not found: {label}')
            _check_image_file(label)
        if args.command == 'all' or (args.out_dir and not args.out):
            if not args.out_dir:
                fail('"all" writes a figure set: give --out-dir')
            out_dir = Path(args.out_dir)
            outputs = {k: [out_dir / f'{image.stem}_{k}.{f}' for f in _formats(args.format)]
                       for k in kinds}
            json_path = out_dir / f'{image.stem}_shift.json' if 'shift' in kinds else None
            return [Job(image, label, outputs, Path(args.json) if args.json else json_path)]
        if not args.out and not (args.command == 'shift' and args.json):
            fail('give --out FILE (.pdf, .svg, .png or .html)'
                 + (' and/or --json FILE' if args.command == 'shift' else ''))
        outputs = {}
        if args.out:
            _check_out(args.out)
            outputs[args.command] = [Path(args.out)]
        return [Job(image, label, outputs, Path(args.json) if args.json else None)]
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
    out_dir = Path(args.out_dir)
    images = sorted(p for p in image_dir.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        fail(f'no images ({", ".join(IMAGE_SUFFIXES)}) in {image_dir}')
    jobs = []
    for image in images:
        outputs = {k: [out_dir / f'{image.stem}_{k}.{f}' for f in formats] for k in kinds}
        json_path = out_dir / f'{image.stem}_shift.json' if 'shift' in kinds else None
        jobs.append(Job(image, _find_label(label_dir, image.stem), outputs, json_path))
    return jobs


def run_job(job: Job, ssa_model, baseline_model, args, ssa_name: str, base_name: str) -> List[str]:
    from . import figures
    from .extract import extract
    try:
        ssa = extract(ssa_model, str(job.image), str(job.label) if job.label else None,
                      reduce_zero_label=args.reduce_zero_label, model_name=ssa_name)
        base = None
        if baseline_model is not None and 'tsne' in job.outputs:
            base = extract(baseline_model, str(job.image), str(job.label) if job.label else None,
                           reduce_zero_label=args.reduce_zero_label, model_name=base_name)
    except (FileNotFoundError, ValueError) as err:
        fail(f'{job.image}: {err}')
    written = []
    for kind, paths in job.outputs.items():
        if kind == 'tsne':
            kw = dict(max_points=args.max_points, seed=args.seed, perplexity=args.perplexity,
                      domains=_parse_domains(args.domains))
            if args.backend:
                kw['backend'] = args.backend
            if args.iterations:
                kw['iterations'] = _parse_iterations(args.iterations)
            bundle = figures.tsne_figures(ssa, base, args.class_name, **kw)
        elif kind == 'relations':
            bundle = figures.relation_figures(ssa, _parse_classes(args.classes), args.order,
                                              scale=args.scale)
        else:
            bundle = figures.shift_table(ssa)
        for path in paths:
            fig = bundle.figure if path.suffix.lower() == '.html' else None
            written.append(figures.export_figure(bundle.data, path, figure=fig))
    if job.json is not None:
        data = figures.shift_data(ssa)
        job.json.parent.mkdir(parents=True, exist_ok=True)
        written.append(figures.write_shift_json(data, job.json))
    return written


def _parse_domains(spec: str):
    from .tsne import DOMAINS
    domains = tuple(d.strip() for d in spec.split(',') if d.strip())
    bad = [d for d in domains if d not in DOMAINS]
    if bad or not domains:
        fail(f'--domains {spec}: unknown {bad or spec}; choose from {", ".join(DOMAINS)}')
    return domains


def _parse_iterations(spec: str):
    try:
        early, final = (int(v) for v in spec.split(','))
    except ValueError:
        fail(f'--iterations {spec}: expected two integers like 250,500')
    if early < 0 or final < 1:
        fail(f'--iterations {spec}: need E >= 0 and N >= 1')
    return early, final


def _parse_classes(spec: str):
    spec = (spec or 'present').strip()
    if spec.isdigit():
        return int(spec)
    return spec


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_points <= 0:
        fail('--max-points must be positive')
    if args.iterations:
        _parse_iterations(args.iterations)
    _parse_domains(args.domains)
    jobs = plan_jobs(args)
    ssa_spec, base_spec = resolve_models(args)
    needs_baseline = any('tsne' in j.outputs for j in jobs)
    ssa_model = load_model(ssa_spec, args.device)
    base_model = load_model(base_spec, args.device) if base_spec and needs_baseline else None
    _check_class_name(args, ssa_model)

    from tqdm import tqdm
    written = []
    batch = bool(args.image_dir)
    for job in tqdm(jobs, desc='figures', unit='image', disable=not batch, file=sys.stderr):
        written += run_job(job, ssa_model, base_model, args, ssa_spec.name,
                           base_spec.name if base_spec else '')
    for path in written:
        print(path)
    return 0


def _check_class_name(args, model):
    names = list((getattr(model, 'dataset_meta', None) or {}).get('classes') or [])
    from .extract import class_index
    try:
        if args.class_name is not None and names:
            args.class_name = class_index(names, int(args.class_name)
                                          if args.class_name.isdigit() else args.class_name)
        spec = _parse_classes(args.classes)
        if isinstance(spec, str) and spec not in ('present', 'all') and names:
            for name in spec.split(','):
                if name.strip():
                    class_index(names, name.strip())
    except KeyError as err:
        fail(err.args[0])
