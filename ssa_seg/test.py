"""Evaluate a checkpoint on a config's test set: per-class IoU table and mIoU.

    python -m ssa_seg.test CONFIG CHECKPOINT [--data-root DIR] [--work-dir DIR]
                                             [--max-images N] [--cfg-options k=v ...]
                                             [--launcher none|pytorch|slurm|mpi]

The last line of stdout is always ``mIoU: NN.NN`` (percent), for scripts. The checkpoint is
loaded by ``ssa_seg.apis.init_model`` (``weights_only=True``; this project's, mmsegmentation
1.x and reference SSA-Seg 0.x checkpoints). The numbers come from
:func:`ssa_seg.evaluation.evaluate`.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

from .evaluation import evaluate, format_table, override_data_root
from .runner_cli import config_or_exit, init_distributed, parse_runner_args


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.test',
        description='Evaluate a segmentation checkpoint: per-class IoU and mIoU.')
    parser.add_argument('config', help='config file (Python, executed)')
    parser.add_argument('checkpoint', help='checkpoint file (loaded with weights_only=True)')
    parser.add_argument('--data-root', help='evaluate on the data set under this folder '
                        '(overrides data_root of the test and val dataloaders)')
    parser.add_argument('--work-dir', help='also write the results to WORK_DIR/test_results.json')
    parser.add_argument('--max-images', type=int, help='only the first N test images')
    return parse_runner_args(parser, argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    args = parse_args(argv)
    cfg = config_or_exit(args.config, args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint file not found: {args.checkpoint}')
    if args.data_root and not osp.isdir(args.data_root):
        raise SystemExit(f'error: data root is not a directory: {args.data_root}')
    if args.max_images is not None and args.max_images < 1:
        raise SystemExit('error: --max-images must be >= 1')

    import torch

    import ssa_seg  # noqa: F401  (registers SSA heads and data sets)
    from ssa_seg.apis import init_model
    from ssa_seg.checkpoint import CheckpointError

    override_data_root(cfg, args.data_root)
    cfg.launcher = args.launcher
    init_distributed(args.launcher)
    device = (f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}' if torch.cuda.is_available()
              else 'cpu')
    try:
        model = init_model(cfg, args.checkpoint, device=device)
        results = evaluate(model, cfg, max_images=args.max_images, progress=True)
    except FileNotFoundError as err:
        where = err.filename or err
        raise SystemExit(f'error: not found: {where} (check --data-root, or the config\'s '
                         'data_root and data_prefix)') from None
    except (CheckpointError, ValueError) as err:
        raise SystemExit(f'error: {err}') from None

    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    if rank == 0:
        if args.work_dir:
            os.makedirs(args.work_dir, exist_ok=True)
            record = dict(results, config=args.config, checkpoint=args.checkpoint,
                          data_root=args.data_root)
            with open(osp.join(args.work_dir, 'test_results.json'), 'w') as f:
                json.dump(record, f, indent=2, allow_nan=True)
        sys.stderr.flush()
        print(format_table(results), flush=True)
    return results


if __name__ == '__main__':
    main(sys.argv[1:])
