"""Exported models under ONNX Runtime vs the same models in torch, side by side in one run.

SeaFormer-L and SegNeXt-T (this project's configs, random weights: the cost does not depend
on the values), baseline and SSA-Seg, each exported by ``ssa_seg.export`` at 512 x 512 (static
shape). One call = one 1 x 3 x 512 x 512 RGB image to logits at 512 x 512, normalisation
included: in torch the exported function itself (``ImageToLogits``, eval, ``no_grad``), in
ONNX Runtime the file (CPU provider, default graph optimisations). With 1 and 2 threads
(torch.set_num_threads / intra_op_num_threads). The eight runners take turns, one call each
per round (interleaved, so load from other processes hits all alike); best and median of the
wall time and of the process CPU time (at 1 thread the robust figure on a shared machine).

Printed: per model and thread count, torch and ONNX Runtime latency and their ratio; then
the SSA-Seg/baseline ratio under each runtime.

Run (once, niced): nice -n 10 .venv/bin/python bench/bench_export.py [--repeats 8]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))

from bench_reference import MODELS, interleaved  # noqa: E402  (SeaFormer-L, SegNeXt-T pairs)

CONFIGS = REPO / 'ssa_seg' / 'configs'
ROLES = ('baseline', 'SSA-Seg')


def timed(fn):
    def once():
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - start, time.process_time() - cpu
    return once


def build_runners(size: int, threads: int, folder: Path) -> dict:
    """{(model, role, runtime): timed call} for every model pair."""
    import onnxruntime as ort

    from ssa_seg.apis import init_model
    from ssa_seg.export import ImageToLogits, export_onnx, fix_ham_bases

    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)) * 255
    runners = {}
    for name, configs in MODELS.items():
        for role, config in zip(ROLES, configs):
            torch.manual_seed(0)
            model = init_model(str(CONFIGS / config))
            path = folder / f'{name}_{role}.onnx'
            if not path.exists():
                export_onnx(model, path, shape=(size, size))
            fix_ham_bases(model)
            wrapped = ImageToLogits(model).eval()
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            session = ort.InferenceSession(str(path), options,
                                           providers=['CPUExecutionProvider'])
            feed = {'image': image.numpy()}

            def run_torch(wrapped=wrapped):
                with torch.no_grad():
                    wrapped(image)
            runners[(name, role, 'torch')] = timed(run_torch)
            runners[(name, role, 'onnxruntime')] = timed(
                lambda session=session, feed=feed: session.run(None, feed))
    return runners


def summary(values):
    return min(values), statistics.median(values)


def report(samples: dict, threads: int) -> None:
    for clock, index in (('cpu', 1), ('wall', 0)):
        for name in MODELS:
            for role in ROLES:
                t = summary([x[index] for x in samples[(name, role, 'torch')]])
                o = summary([x[index] for x in samples[(name, role, 'onnxruntime')]])
                print(f'{name:12s} {role:8s} {threads:3d} {clock:5s} {1e3 * t[0]:8.1f} '
                      f'{1e3 * o[0]:8.1f} {o[0] / t[0]:6.3f}   {1e3 * t[1]:8.1f} '
                      f'{1e3 * o[1]:8.1f} {o[1] / t[1]:6.3f}')
    for name in MODELS:
        for runtime in ('torch', 'onnxruntime'):
            base = summary([x[1] for x in samples[(name, 'baseline', runtime)]])
            ssa = summary([x[1] for x in samples[(name, 'SSA-Seg', runtime)]])
            print(f'  SSA-Seg/baseline {name:12s} {runtime:12s} {threads} thread(s), CPU time: '
                  f'best {ssa[0] / base[0]:.3f}, median {ssa[1] / base[1]:.3f}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=8)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    args = parser.parse_args()
    import onnxruntime as ort

    print(f'[bench_export] torch {torch.__version__}, onnxruntime {ort.__version__}, '
          f'{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; input 1 x 3 x '
          f'{args.size} x {args.size}; {args.repeats} interleaved rounds after {args.warmup} '
          'warm-up', flush=True)
    print(f'\n{"model":12s} {"role":8s} {"thr":>3s} {"clock":5s} {"torch":>8s} {"ORT":>8s} '
          f'{"ORT/t":>6s}   {"torch med":>8s} {"ORT med":>8s} {"ORT/t":>6s}   (best | median, ms)')
    with tempfile.TemporaryDirectory() as folder:
        for threads in args.threads:
            torch.set_num_threads(threads)
            runners = build_runners(args.size, threads, Path(folder))
            report(interleaved(runners, args.repeats, args.warmup), threads)
    return 0


if __name__ == '__main__':
    sys.exit(main())
