"""``python -m analysis dataset``: baseline against SSA-Seg over a whole data set.

    python -m analysis dataset --data-root data/synthscenes --out reports/demo
    python -m analysis dataset --data-root data/ade --split val \\
        --baseline base.py base.pth --ssa ssa.py ssa.pth --out reports/ade
    torchrun --nproc_per_node 2 -m analysis dataset --data-root DIR --out DIR --launcher pytorch

The data set is in mmsegmentation's layout (``img_dir/<split>``, ``ann_dir/<split>``) and is
read with the SSA-Seg model config's data set type and test pipeline (ADE20K's
``reduce_zero_label`` is applied when that type asks for it). Models
(:mod:`analysis.pair_args`): ``--pair NAME`` from the model zoo (default: its first pair;
``--manifest`` for another zoo) or ``--baseline CFG CKPT --ssa CFG CKPT``. Writes
summary.json, per_class.csv, the per-class delta chart, the confusion difference (table and
chart) and the gallery (PNGs and one PDF page) into --out: see
:mod:`analysis.dataset.report`. The summary holds the paired statistics
(:mod:`analysis.paired`: ``--resamples``, ``--seed``), the band/interior breakdown and
``--drill-images`` images per confusion change (:mod:`analysis.breakdown`). With
``--launcher pytorch`` (under torchrun) each process takes a share of the images and rank 0
merges and writes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

from ..pair_args import add_pair_arguments, fail

LAUNCHERS = ('none', 'pytorch')


def add_dataset_command(subparsers) -> None:
    """The ``dataset`` subcommand of ``python -m analysis``."""
    parser = subparsers.add_parser(
        'dataset', help='baseline against SSA-Seg over a whole data set',
        description=__doc__.split('\n\n')[0].strip('`'),
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--data-root', required=True, help='data set folder (img_dir, ann_dir)')
    parser.add_argument('--split', default='val', help='sub-folder of img_dir and ann_dir '
                                                       '(default %(default)s)')
    parser.add_argument('--out', required=True, help='report folder to write')
    add_pair_arguments(parser, need=('baseline', 'ssa'))
    run = parser.add_argument_group('run')
    run.add_argument('--batch-size', type=int, default=8, help='images per forward pass '
                     '(default %(default)s)')
    run.add_argument('--max-images', type=int, help='only the first N images')
    run.add_argument('--gallery', type=int, default=4, metavar='K',
                     help='K best-gain and K worst images in the gallery (default %(default)s)')
    run.add_argument('--panel-size', type=int, default=256,
                     help='longest side of a gallery panel in pixels (default %(default)s)')
    run.add_argument('--top-confusions', type=int, default=10,
                     help='pairs in the confusion difference (default %(default)s)')
    run.add_argument('--drill-images', type=int, default=5, metavar='N',
                     help='images shown for each confusion change (default %(default)s)')
    run.add_argument('--resamples', type=int, default=2000,
                     help='bootstrap resamples and permutations of the paired statistics '
                          '(default %(default)s)')
    run.add_argument('--seed', type=int, default=0,
                     help='random seed of the bootstrap and permutations (default %(default)s)')
    run.add_argument('--no-pdf', action='store_true', help='PNG charts and gallery only')
    run.add_argument('--device', default='cpu')
    run.add_argument('--launcher', choices=LAUNCHERS, default='none',
                     help='pytorch: one process per rank under torchrun')
    run.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.set_defaults(func=run_dataset, command_parser=parser)


def drilldown_rows(args, summary, baseline, ssa, dataset, totals, palette):
    """The strips of each confusion change's images (panels at half the gallery's size) and
    their inputs."""
    from analysis.breakdown import add_confusion_images, drilldown_choice
    from analysis.dataset import compare as ds

    add_confusion_images(summary, totals.images, classes_of(summary), args.drill_images)
    chosen = drilldown_choice(summary['confusion_changes'], totals.images)
    if not any(chosen.values()):
        return [], {}
    return ds.gallery_rows(baseline, ssa, dataset, totals, 0, batch_size=args.batch_size,
                           palette=palette, max_side=max(64, args.panel_size // 2),
                           chosen=chosen)


def classes_of(summary: dict) -> List[str]:
    return [c['name'] for c in summary['classes']]


def _delta_text(name: str, stats: Optional[dict]) -> str:
    if not stats or stats.get('value') is None:
        return f'delta {name}: n/a'
    lo, hi = stats['ci95'] or (float('nan'), float('nan'))
    return (f'delta {name} {stats["value"]:+.2f} (95% CI {lo:+.2f} .. {hi:+.2f}, '
            f'p = {stats["p_value"]:.4g}, {stats["resamples"]} resamples)')


def summary_lines(summary: dict) -> str:
    """The CLI's closing lines: both models' means, the paired deltas, the breakdown."""
    lines = [f'{summary["num_images"]} images: mIoU {summary["miou_baseline"]:.2f} -> '
             f'{summary["miou_ssa"]:.2f}, boundary mIoU {summary["mbiou_baseline"]:.2f} -> '
             f'{summary["mbiou_ssa"]:.2f} ({summary.get("seconds", 0):.1f} s)',
             _delta_text('mIoU', summary.get('delta_miou')),
             _delta_text('boundary mIoU', summary.get('delta_mbiou'))]
    breakdown = summary.get('error_breakdown')
    if breakdown:
        for region in ('band', 'interior'):
            r, ratio = breakdown[region], breakdown['fixed_ratio'][region]
            lines.append(f'{region}: {r["labelled"]} px, only SSA-Seg right {r["only_ssa"]}, '
                         f'only baseline right {r["only_baseline"]}'
                         + (f' ({ratio:.2f}x)' if ratio is not None else ''))
    return '\n'.join(lines)


def run_dataset(args, pair) -> int:
    """Compare ``pair`` (:mod:`analysis.pair_args`) over the data set of the flags."""
    if not Path(args.data_root).is_dir():
        fail(f'data root not found: {args.data_root}')
    for flag in ('batch_size', 'gallery', 'panel_size', 'top_confusions', 'max_images',
                 'drill_images', 'resamples'):
        value = getattr(args, flag)
        if value is not None and value < (0 if flag in ('gallery', 'drill_images') else 1):
            fail(f'--{flag.replace("_", "-")} must be positive')
    base_spec, ssa_spec, pair_name = pair.baseline, pair.ssa, pair.name
    from ssa_seg.runner_cli import init_distributed
    init_distributed(args.launcher)

    import torch

    from analysis.dataset import compare as ds
    from analysis.dataset.report import write_report
    from analysis.stats import check_pair_classes

    device = args.device
    if args.launcher != 'none' and torch.cuda.is_available() and device == 'cpu':
        device = f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    start = time.perf_counter()
    try:
        baseline, ssa = base_spec.init(device), ssa_spec.init(device)
        check_pair_classes(baseline.dataset_meta, ssa.dataset_meta)
        dataset = ds.build_dataset(ssa.cfg, args.data_root, args.split, args.max_images)
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))
    classes = [str(c) for c in ssa.dataset_meta['classes']]
    palette = ssa.dataset_meta.get('palette')
    totals = ds.compare_dataset(baseline, ssa, dataset, len(classes),
                                batch_size=args.batch_size, progress=not args.no_progress)
    rank, world = ds.dist_info()
    if world > 1:          # the counts are merged on rank 0: the process group is done
        torch.distributed.destroy_process_group()
    if rank != 0:
        return 0
    summary = dict(pair=pair_name, models=dict(baseline=base_spec.name, ssa=ssa_spec.name),
                   data_root=str(args.data_root), split=args.split,
                   dataset_type=type(dataset).__name__,
                   **ds.summarize(totals, classes, args.top_confusions, args.resamples,
                                  args.seed))
    rows, inputs = ds.gallery_rows(baseline, ssa, dataset, totals, args.gallery,
                                   batch_size=args.batch_size, palette=palette,
                                   max_side=args.panel_size)
    drill, drill_inputs = drilldown_rows(args, summary, baseline, ssa, dataset, totals, palette)
    summary['seconds'] = round(time.perf_counter() - start, 2)
    written = write_report(summary, totals.confusion, args.out, rows, {**inputs, **drill_inputs},
                           palette, pdf=not args.no_pdf, drilldown=drill)
    print(summary_lines(summary), file=sys.stderr)
    for path in written:
        print(path)
    return 0
