"""Data-set comparison speed: 200 SynthScenes val images, both models of the demo pair
(target <= 60 s on this machine's 2 cores), through ``python -m analysis dataset``.

Reported: the command's whole wall time (start-up, both models, the pass over the images,
the gallery and every report file) and the time it measures itself (``seconds`` in
summary.json: model loading to the last gallery row, without Python start-up and imports).

Run: .venv/bin/python bench/bench_dataset.py [--data-root DIR] [--images 200] [--threads 1]
Without --data-root the images are generated first (not timed) with
``python -m ssa_seg.synthscenes --out DIR --seed 0 --num-train 0 --num-val 200 --size 256``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', help='SynthScenes folder (default: generated)')
    parser.add_argument('--images', type=int, default=200)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS',
                                                                         '1')))
    parser.add_argument('--pair', default=None, help='zoo pair (default: the first)')
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data_root) if args.data_root else Path(tmp) / 'synthscenes'
        if not args.data_root:
            subprocess.run([sys.executable, '-m', 'ssa_seg.synthscenes', '--out', str(data),
                            '--seed', '0', '--num-train', '0', '--num-val', str(args.images),
                            '--size', '256'], cwd=REPO, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = Path(tmp) / 'report'
        command = [sys.executable, '-m', 'analysis', 'dataset', '--data-root', str(data),
                   '--out', str(out), '--max-images', str(args.images), '--batch-size',
                   str(args.batch_size), '--no-progress']
        if args.pair:
            command += ['--pair', args.pair]
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        summary = json.loads((out / 'summary.json').read_text())
    print(f'{summary["num_images"]} images, pair {summary["pair"]}, {args.threads} thread(s), '
          f'batch {args.batch_size}')
    print(f'  mIoU {summary["miou_baseline"]:.2f} -> {summary["miou_ssa"]:.2f}, '
          f'mBIoU {summary["mbiou_baseline"]:.2f} -> {summary["mbiou_ssa"]:.2f}')
    print(f'  command wall time {wall:.1f} s (target <= {TARGET_SECONDS:.0f} s); '
          f'measured inside {summary["seconds"]:.1f} s')
    return 0 if wall <= TARGET_SECONDS else 1


if __name__ == '__main__':
    raise SystemExit(main())
