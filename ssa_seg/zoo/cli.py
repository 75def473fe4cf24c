"""``python -m ssa_seg.zoo list|add ...``: the released models and the manifest, from a shell.

    python -m ssa_seg.zoo list [--markdown] [--manifest FILE]
    python -m ssa_seg.zoo add NAME --config CFG --checkpoint FILE [--pair-with OTHER]

Each subcommand is one function (``set_defaults(func=...)``) returning the exit status.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from .add import AddError, add_model
from .manifest import MANIFEST_ENV, ManifestError, load_zoo, manifest_path
from .released import markdown_table, text_table


def _print_manifest(path: Optional[os.PathLike]) -> None:
    try:
        zoo = load_zoo(path)
    except ManifestError as err:
        print(f'\nno manifest to show ({err})')
        return
    print(f'\nrecorded in {zoo.path} ({len(zoo.models)} models, {len(zoo.pairs)} pairs):')
    for model in zoo.models.values():
        metrics = ', '.join(f'{k} {v}' for k, v in model.metrics.items() if 'miou' in k.lower())
        print(f'  {model.name}: {len(model.classes)} classes; {model.config}; '
              f'{model.checkpoint}' + (f'; {metrics}' if metrics else ''))
    for pair in zoo.pairs.values():
        print(f'  pair {pair.name!r}: {pair.baseline.name} vs {pair.ssa.name}')


def list_models(args: argparse.Namespace) -> int:
    """``list``: the released table, then what the manifest records."""
    if args.markdown:
        print(markdown_table(), end='')
        return 0
    print('Released SSA-Seg models (reference README; mIoU single-scale, of the SSA-Seg '
          'model; "here": fixture-checked = equal to the reference code by test, opens = '
          'the reference config builds)\n')
    print(text_table(), end='')
    _print_manifest(args.manifest)
    return 0


def add(args: argparse.Namespace) -> int:
    """``add``: record a checkpoint (and a pair) in the manifest; 2 with a message if refused."""
    try:
        entry = add_model(args.name, args.config, args.checkpoint, pair_with=args.pair_with,
                          role=args.role, manifest=args.manifest, pair_name=args.pair_name)
    except (AddError, ManifestError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'recorded {entry["name"]!r} ({len(entry["classes"])} classes: '
          f'{", ".join(entry["classes"][:5])}{", ..." if len(entry["classes"]) > 5 else ""}) '
          f'in {manifest_path(args.manifest)}')
    if args.pair_with:
        print(f'with {args.pair_with!r} as a pair: python -m app --manifest '
              f'{manifest_path(args.manifest)} shows it in the pair selector')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.zoo',
        description='The released SSA-Seg models, and the manifest of the checkpoints you have '
                    '(read by python -m app and python -m analysis).')
    commands = parser.add_subparsers(dest='command', required=True)
    listing = commands.add_parser('list', help='the released models (reported mIoU, configs) '
                                               'and the models recorded in the manifest')
    listing.add_argument('--markdown', action='store_true',
                         help='the released table as markdown (docs/zoo.md), nothing else')
    listing.add_argument('--manifest', default=None, help=f'default ${MANIFEST_ENV} or '
                         'checkpoints/manifest.yaml')
    listing.set_defaults(func=list_models)
    adding = commands.add_parser(
        'add', help='record a checkpoint you downloaded or trained (checked: the config '
                    'builds and the checkpoint loads strictly)')
    adding.add_argument('name', help='the model\'s name in the manifest (unique)')
    adding.add_argument('--config', required=True,
                        help='its config: mmseg 1.x, or a reference (0.x) config as it is')
    adding.add_argument('--checkpoint', required=True, help='its checkpoint file')
    adding.add_argument('--pair-with', default=None, metavar='OTHER',
                        help='a model already in the manifest to compare it with in the app')
    adding.add_argument('--role', choices=('ssa', 'baseline'), default=None,
                        help='NAME\'s role in the pair (default: SSA-Seg if its head has the '
                             'SSA-Seg classifier, else baseline)')
    adding.add_argument('--pair-name', default=None,
                        help='the pair\'s name (default "BASELINE vs SSA")')
    adding.add_argument('--manifest', default=None, help=f'default ${MANIFEST_ENV} or '
                        'checkpoints/manifest.yaml (created if missing)')
    adding.set_defaults(func=add)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m ssa_seg.zoo list|add ...``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)
