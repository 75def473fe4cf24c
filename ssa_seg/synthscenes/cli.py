"""``python -m ssa_seg.synthscenes``: generate the data set from the command line."""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .writer import generate


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.synthscenes',
        description='Generate the SynthScenes segmentation data set (mmsegmentation layout).')
    parser.add_argument('--out', required=True, help='output directory (data_root)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--size', type=int, default=256, help='image side in pixels')
    parser.add_argument('--overwrite', action='store_true',
                        help='remove numbered images beyond the requested counts')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.num_train < 0 or args.num_val < 0:
        parser.error('--num-train and --num-val must be >= 0')
    if args.size < 16:
        parser.error('--size must be at least 16')
    try:
        out = generate(args.out, args.seed, args.num_train, args.num_val, args.size,
                       progress=not args.no_progress, overwrite=args.overwrite)
    except (FileExistsError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.num_train} train + {args.num_val} val images to {out}')
    return 0
