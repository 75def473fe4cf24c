"""``python -m app``: serve the baseline-vs-SSA-Seg comparison page.

Examples::

    python -m app                                   # the manifest's first pair, 127.0.0.1:7860
    python -m app --pair demo --port 7861
    python -m app --baseline cfg_a.py a.pth --ssa cfg_b.py b.pth --name mine \
        --baseline-name ocrnet --ssa-name ocrnet_ssa
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import List, Optional

from analysis.pair_args import add_pair_arguments

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 7860
MAX_UPLOAD = '20mb'          # per file; Gradio answers 413 above it
QUEUE_SIZE = 64              # waiting requests beyond this are turned away ("queue full")
MAX_SESSIONS = 64            # per-session state kept (a few MB each), oldest dropped first


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m app', description='SSA-Seg Studio: baseline vs SSA-Seg in the browser.')
    parser.add_argument('--host', default=DEFAULT_HOST,
                        help='interface to listen on (default %(default)s: this machine only)')
    parser.add_argument('--port', type=int, default=DEFAULT_PORT, help='default %(default)s')
    add_pair_arguments(parser, need=('baseline', 'ssa'))    # --pair: the pair shown first
    parser.add_argument('--name', default=None, help='name of the --baseline/--ssa pair')
    parser.add_argument('--device', default='cpu', help='torch device (default %(default)s)')
    parser.add_argument('--concurrency', type=int, default=1,
                        help='model calls run at once (default %(default)s; CPU-bound, so '
                             'more only helps with more cores)')
    parser.add_argument('--max-file-size', default=MAX_UPLOAD,
                        help='largest upload accepted (default %(default)s)')
    parser.add_argument('--examples', default=None,
                        help='examples folder (default app/examples)')
    parser.add_argument('--dataset-report', default=None, metavar='DIR',
                        help='report of `python -m analysis dataset` for the Dataset tab '
                             '(default: the shipped one of the default pair, if any)')
    return parser


def collect_pairs(args) -> tuple:
    """(pair specs, default pair name) from the manifest and the command line."""
    from dataclasses import replace

    from analysis.pair_args import paths_pair
    from ssa_seg.zoo import ManifestError, PairError, load_zoo

    specs, default, known = [], None, []
    try:
        zoo = load_zoo(args.manifest)
        specs, known = list(zoo.pairs.values()), list(zoo.models.values())
    except ManifestError as err:
        if args.manifest or args.pair or not args.baseline:
            raise PairError(str(err)) from None
    custom = paths_pair(args, known=known)      # PairError: wrong combination, missing file
    if custom is not None:
        custom = replace(custom, name=args.name) if args.name else custom
        specs = [s for s in specs if s.name != custom.name] + [custom]
        default = custom.name
    if args.pair:
        if args.pair not in [s.name for s in specs]:
            raise PairError(f'no pair named {args.pair!r}; known: {[s.name for s in specs]}')
        default = args.pair
    return specs, default


def _is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'     # before gradio is imported
    os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'
    os.environ.setdefault('GRADIO_SSR_MODE', 'False')

    from pathlib import Path

    from starlette.middleware import Middleware

    from .page import EXAMPLES_DIR, build_demo
    from .pairs import PairError, PairRegistry
    from .security import RefuseRemoteFetches

    try:
        specs, default = collect_pairs(args)
        registry = PairRegistry(specs, default=default, device=args.device)
        pair = registry.get()        # load the default pair now: fail early, answer fast
    except PairError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.concurrency < 1:
        print('error: --concurrency must be at least 1', file=sys.stderr)
        return 2
    examples_dir = Path(args.examples).resolve() if args.examples else EXAMPLES_DIR
    from .tabs.dataset import ReportError, find_report
    try:
        report = find_report(args.dataset_report, registry.default)
    except ReportError as err:
        print(f'error: --dataset-report: {err}', file=sys.stderr)
        return 2
    print(f'[app] serving pair {pair.name!r} ({pair.spec.baseline.name} vs '
          f'{pair.spec.ssa.name}, {pair.num_classes} classes); pairs: {registry.names}',
          flush=True)
    if not _is_loopback(args.host):
        print(f'[app] warning: listening on {args.host}, reachable from other machines; '
              f'there is no authentication', flush=True)

    demo = build_demo(registry, examples_dir=examples_dir, model_concurrency=args.concurrency,
                      upload_limit=args.max_file_size, dataset_report=report)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=args.concurrency)
    demo.launch(
        server_name=args.host, server_port=args.port, share=False, inbrowser=False,
        max_file_size=args.max_file_size,
        allowed_paths=[str(examples_dir)] if examples_dir.is_dir() else [],
        state_session_capacity=MAX_SESSIONS, ssr_mode=False, mcp_server=False, pwa=False,
        app_kwargs={'middleware': [Middleware(RefuseRemoteFetches)]},
        show_error=False, quiet=False)
    return 0
