"""Write a reference (mmsegmentation 0.x) config as an mmsegmentation 1.x config file.

    python -m ssa_seg.convert_config REF.py OUT.py [--cfg-options k=v ...]

The translation is the one ``ssa_seg.apis.load_config`` makes at load time
(``ssa_seg.config_v0``): the ``_base_`` chain is merged, then every part is rewritten in 1.x
form, and the result is written with mmengine's ``Config.dump``. Train it with
``python -m ssa_seg.train OUT.py``. Anything the translator does not understand stops it with
a message naming that thing. A config that is already 1.x is written merged, unchanged.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .runner_cli import add_cfg_options, config_errors_exit


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.convert_config',
        description='Translate an mmsegmentation 0.x config (e.g. the reference SSA-Seg '
                    'configs) to a self-contained mmsegmentation 1.x config file.')
    parser.add_argument('config', help='0.x config file (its _base_ files are read too)')
    parser.add_argument('out', help='1.x config file to write (.py)')
    add_cfg_options(parser, help='override entries of the translated (1.x) config')
    return parser.parse_args(argv)


def convert(config: str, out: str, cfg_options: Optional[dict] = None) -> bool:
    """Write the 1.x form of ``config`` to ``out``; returns whether it was 0.x."""
    from ssa_seg.apis import load_config, read_config
    from ssa_seg.config_v0 import is_v0_config

    raw = read_config(config)
    was_v0 = is_v0_config(raw)
    cfg = load_config(raw, cfg_options)
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    cfg.dump(out)
    return was_v0


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if not args.out.endswith('.py'):
        raise SystemExit(f'error: the output must be a .py file, got {args.out}')
    with config_errors_exit(args.config):
        was_v0 = convert(args.config, args.out, args.cfg_options)
    what = 'translated 0.x -> 1.x' if was_v0 else 'already 1.x, merged'
    print(f'{args.out}: {what}')


if __name__ == '__main__':
    main(sys.argv[1:])
