"""What the pixel inspector costs, measured side by side in one run.

    python bench/bench_inspect.py [--repeats 5]

1. A segmentation of the pair as the app runs it, without and with what the inspector keeps
   (``keep_internals``: the head feature captured by a hook, ``seg_logits`` kept), plus
   building the inspection (two top-5 tables, the SSA classifier re-run on the captured
   feature): the extra time per segmentation and the bytes kept.
2. One click: ``analysis.inspect.pixel`` on the kept data (what the app runs per click),
   against running both models again (what it would cost without the kept data).

On the demo pair (``checkpoints/manifest.yaml``) at 256 x 256, and at 1024 x 1024 (the
largest processing size) with the same models; one thread, best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis import inspect  # noqa: E402
from analysis.io import load_image  # noqa: E402
from analysis.stats import segment_pair  # noqa: E402
from ssa_seg.zoo import load_zoo  # noqa: E402


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    pair = load_zoo().pair()
    base, ssa = pair.baseline.init(), pair.ssa.init()
    names = list(base.dataset_meta['classes'])
    example = load_image(str(REPO / 'app/examples/images/synthscenes_val_00001.png'))
    big = load_image(np.asarray(
        torch.nn.functional.interpolate(torch.from_numpy(example.work).permute(2, 0, 1)[None]
                                        .float(), size=(1024, 1024), mode='bilinear')[0]
        .permute(1, 2, 0).round().byte().numpy()))
    print(f'pair {pair.name}: {len(names)} classes, 1 thread, best of {args.repeats}')
    print(f'{"image":>11} | {"segment":>8} | {"+ kept":>8} | {"+ inspection":>12} | '
          f'{"extra":>6} | {"kept MB":>7} | {"click":>8} | {"models again":>12}')
    for label, image in (('256 x 256', example), ('1024 x 1024', big)):
        print(measure(label, image, base, ssa, names, args.repeats))


def measure(label, image, base, ssa, names, repeats: int) -> str:
    """One line of the table for one image."""
    plain = best(lambda: segment_pair(base, ssa, image), repeats)
    kept = best(lambda: segment_pair(base, ssa, image, keep_internals=True), repeats)
    seg = segment_pair(base, ssa, image, keep_internals=True)
    build = best(lambda: inspect.inspection_of(seg, ssa, image, names, ('b', 's')), repeats)
    inspection = inspect.inspection_of(seg, ssa, image, names, ('b', 's'))
    h, w = inspection.image_size
    pixels = [(y % h, (7 * y) % w) for y in range(0, 50 * 37, 37)]
    click = best(lambda: [inspect.pixel(inspection, y, x) for y, x in pixels],
                 repeats) / len(pixels)
    again = best(lambda: inspect.inspect_image(base, ssa, image, names, ('b', 's')), 2)
    return (f'{label:>11} | {plain * 1e3:6.0f} ms | {kept * 1e3:6.0f} ms | '
            f'{build * 1e3:9.1f} ms | {(kept + build) / plain:5.2f}x | '
            f'{inspection.nbytes / 2**20:7.1f} | {click * 1e3:5.2f} ms | '
            f'{again * 1e3:9.0f} ms')

if __name__ == '__main__':
    main()
