"""Train any mmsegmentation config, with SSA-Seg's heads and data sets registered.

    python -m ssa_seg.train CONFIG [--work-dir DIR] [--resume] [--cfg-options k=v ...]
                                   [--launcher none|pytorch|slurm|mpi]

Multi-GPU on one machine (mmengine's own launcher, through torchrun):

    torchrun --nproc_per_node 4 -m ssa_seg.train CONFIG --launcher pytorch
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence

from .runner_cli import config_or_exit, default_work_dir, parse_runner_args


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.train',
        description='Train a segmentor from an mmsegmentation config (SSA-Seg heads and '
                    'the SynthScenes data set are registered).')
    parser.add_argument('config', help='config file (Python, executed)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: the config\'s work_dir, else ./work_dirs/<config name>)')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    return parse_runner_args(parser, argv)


def check_pretrained(cfg) -> None:
    """Training initialises the backbone from the config's pretrained weights; stop with a
    message naming the file if it is missing. When training starts from a checkpoint
    (``load_from``, or ``--resume`` with a checkpoint in the work dir) the pretrained weights
    are not needed and are dropped from ``cfg`` (in place)."""
    from mmengine.runner import find_latest_checkpoint

    from ssa_seg.config_v0 import missing_pretrained, strip_pretrained

    resumable = cfg.get('resume') and osp.isdir(cfg.work_dir) and \
        find_latest_checkpoint(cfg.work_dir)
    if cfg.get('load_from') or resumable:
        cfg.model = strip_pretrained(cfg.model.to_dict())
        return
    missing = missing_pretrained(cfg.model.to_dict())
    if missing:
        lines = '\n'.join(f'  {key} = {path!r}' for key, path in missing)
        # An init_cfg is switched off whole (a Pretrained init without a checkpoint fails).
        keys = ' '.join(f'{key.removesuffix(".checkpoint")}=None' for key, _ in missing)
        raise SystemExit(
            f'error: training needs pretrained weights that do not exist here '
            f'(relative paths are from {os.getcwd()}):\n{lines}\n'
            'Put the file there, point the config at it (--cfg-options KEY=/path/file.pth), '
            'start from a full checkpoint (--cfg-options load_from=/path/ckpt.pth), or train '
            f'from random initialisation (--cfg-options {keys}).')


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    from mmengine.runner import Runner

    import ssa_seg  # noqa: F401  (registers SSA heads and data sets, allow-lists checkpoints)

    cfg = config_or_exit(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    if args.resume:
        cfg.resume = True
    check_pretrained(cfg)

    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main(sys.argv[1:])
