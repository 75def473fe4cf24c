"""What the Runner entry points (``python -m ssa_seg.train`` and ``ssa_seg.test``) share:
the common options, config loading with a readable failure, the default work dir."""
from __future__ import annotations

import argparse
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_cfg_options(parser: argparse.ArgumentParser,
                    help: str = 'override config entries, e.g. train_cfg.max_iters=2000') -> None:
    """The ``--cfg-options KEY=VALUE ...`` option (mmengine's ``DictAction``)."""
    from mmengine.config import DictAction

    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help=help)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Add the options every Runner entry point shares (--cfg-options, --launcher), then parse."""
    add_cfg_options(parser)
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher for distributed runs')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


@contextmanager
def config_errors_exit(path: str) -> Iterator[None]:
    """Turn a missing config file or one the 0.x translator cannot read into ``SystemExit``
    with a one-line message."""
    from ssa_seg.config_v0 import ConfigTranslationError

    try:
        yield
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    except ConfigTranslationError as err:
        raise SystemExit(f'error: {path}: {err}') from None


def init_distributed(launcher: str) -> None:
    """Join the process group a launcher (torchrun: ``--launcher pytorch``) set up: mmengine's
    ``init_dist`` where there are GPUs; on a CPU-only torch, where mmengine's would select a
    CUDA device and fail, the gloo group from the launcher's environment."""
    if launcher == 'none':
        return
    import torch
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher)
    else:
        import torch.distributed as dist
        dist.init_process_group(backend='gloo')


def config_or_exit(path: str, cfg_options: Optional[dict] = None):
    """:func:`ssa_seg.apis.load_config` (mmseg 0.x configs translated), with ``SystemExit``
    and a message when the file is missing or cannot be translated."""
    from ssa_seg.apis import load_config

    with config_errors_exit(path):
        return load_config(path, cfg_options)


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
