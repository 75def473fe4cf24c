"""What linking the t-SNE to the image costs, measured side by side in one run.

    python bench/bench_tsne_link.py

1. The app's t-SNE figure (baseline and SSA-Seg panels, default options, plotly figure) on
   each shipped example with its label, mixed cells dropped (the default) and kept:
   seconds, and how many labelled feature cells the filter drops.
2. The parts the link adds to a panel, alone: the purity mask (``pure_cell_mask``), each
   cell's nearest sampled point (``nearest_sampled``), the pixel boxes, and the marker
   (``tsne_plotly`` with ``pixel=``) against the figure without it; on the demo grid
   (32 x 32 cells) and on the largest grid the app makes (a 1024 px image at stride 4:
   256 x 256 cells, C = 256, 3000 points).

Needs the demo pair (``checkpoints/manifest.yaml``) for part 1; one thread.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.feature_grid import FeatureGrid  # noqa: E402
from analysis.tsne import (  # noqa: E402
    DEFAULT_MAX_POINTS,
    nearest_sampled,
    pure_cell_mask,
    stratified_sample,
)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def figures_on_examples() -> None:
    import torch

    from analysis import io as image_io
    from analysis.extract import extract
    from analysis.figures.tsne import tsne_figures
    from ssa_seg.zoo import init_zoo_model, load_zoo
    torch.set_num_threads(1)
    pair = load_zoo().pair()
    ssa, base = init_zoo_model(pair.ssa.name), init_zoo_model(pair.baseline.name)
    print('1. t-SNE figure (baseline + SSA-Seg panels, default options), best of 3')
    print(f'{"example":28s} {"drop s":>7s} {"keep s":>7s} {"ratio":>6s} '
          f'{"dropped":>8s} {"labelled":>8s} {"points":>7s}')
    for image in sorted((REPO / 'app' / 'examples' / 'images').glob('*.png')):
        label = REPO / 'app' / 'examples' / 'labels' / image.name
        loaded = image_io.load_image(str(image))
        e, b = extract(ssa, loaded, str(label)), extract(base, loaded, str(label))
        drop = best_of(lambda e=e, b=b: tsne_figures(e, b, mixed_cells='drop'))
        keep = best_of(lambda e=e, b=b: tsne_figures(e, b, mixed_cells='keep'))
        data = tsne_figures(e, b).data
        labelled = int((e.label != 255).sum())
        print(f'{image.name:28s} {drop:7.2f} {keep:7.2f} {drop / keep:6.2f} '
              f'{data.panels[-1].mixed_dropped:8d} {labelled:8d} '
              f'{len(data.panels[-1].points):7d}')


def link_parts(h: int, w: int, channels: int, stride: int = 8) -> None:
    rng = np.random.default_rng(0)
    grid = FeatureGrid((h * stride, w * stride), (h, w), (h * stride, w * stride),
                       (h * stride, w * stride))
    label = np.zeros((h * stride, w * stride), np.int64)
    yy, xx = np.mgrid[:h * stride, :w * stride]
    label[(yy // 37 + xx // 53) % 3 == 1] = 1          # blocks whose edges cross cells
    label[(yy // 37 + xx // 53) % 3 == 2] = 2
    cell_label = label[::stride, ::stride]
    rows = rng.normal(size=(h * w, channels)).astype(np.float32)
    idx = stratified_sample(cell_label, DEFAULT_MAX_POINTS)
    cells = np.stack([idx // w, idx % w], axis=1)
    purity = best_of(lambda: pure_cell_mask(grid, label, cell_label, 3))
    nearest = best_of(lambda: nearest_sampled(rows, idx))
    boxes = best_of(lambda: grid.boxes(cells))
    print(f'   {h} x {w} cells, C = {channels}, {len(idx)} points: purity mask '
          f'{1000 * purity:.1f} ms, nearest sampled point of every cell {1000 * nearest:.1f} ms,'
          f' pixel boxes {1000 * boxes:.2f} ms')


def marker_cost() -> None:
    from analysis.figures.tsne import tsne_plotly
    from analysis.tsne import TsneData, tsne_panel
    rng = np.random.default_rng(0)
    grid = FeatureGrid((256, 256), (32, 32), (256, 256), (256, 256))
    classes = rng.integers(0, 5, size=(32, 32))
    feat = rng.normal(size=(64, 32, 32)).astype(np.float32)
    panel = tsne_panel(feat, classes, {'fixed': np.eye(5, 64, dtype=np.float32)},
                       {'fixed': 'S'}, 0, title='p', domain='classifier', grid=grid,
                       iterations=(10, 20))
    data = TsneData([panel, panel], [str(i) for i in range(5)], 0, 0, 30.0, 'opentsne',
                    DEFAULT_MAX_POINTS, 'label')
    plain = best_of(lambda: tsne_plotly(data))
    marked = best_of(lambda: tsne_plotly(data, pixel=(100, 37)))
    print(f'   plotly figure of 2 x {len(panel.points)} points: {1000 * plain:.0f} ms, with the '
          f'inspected pixel marked {1000 * marked:.0f} ms ({marked / plain:.2f}x)')


def main() -> None:
    if (REPO / 'checkpoints' / 'manifest.yaml').is_file():
        figures_on_examples()
    else:
        print('1. skipped: no demo pair (checkpoints/manifest.yaml)')
    print('2. the parts the link adds (best of 3)')
    link_parts(32, 32, 128)
    link_parts(256, 256, 256, stride=4)
    marker_cost()


if __name__ == '__main__':
    main()
