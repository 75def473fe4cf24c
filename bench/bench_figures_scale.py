"""The figures at the paper's scale: per-image costs for a SeaFormer-L pair (ADE20K, 150
classes, random weights) on 683 x 512 labelled images (issue 22).

    OMP_NUM_THREADS=1 nice -n 10 python bench/bench_figures_scale.py [--images 2]

Prints, measured in this run:
1. per image, the parts: feature extraction of each model (``analysis.extract.extract``),
   each per-image figure kind's data and drawing (plotly for the app, matplotlib PNG for
   the files), Grad-CAM (a set-level figure: one image per set, both models);
2. ``/figures`` per image (``app.services.api_figures``: every per-image figure as PNG and
   the shift numbers) and ``python -m analysis paper`` per image (``write_paper`` over the
   image set divided by the number of images), each the way it was before this change
   (``--path before``) and now, side by side.

Images: piecewise-constant scenes (Voronoi regions, each a class with its own colour and
texture, about 60 classes per image as on ADE20K) with their label maps, so every figure
has many classes present. Random weights: the costs, not the figures, are the point.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CONFIGS = REPO / 'ssa_seg' / 'configs' / 'seaformer'
BASELINE = CONFIGS / 'seaformer_large_512x512_160k_4x4_ade20k.py'
SSA = CONFIGS / 'seaformer_large_512x512_160k_4x4_ade20k_ssa.py'
WIDTH, HEIGHT = 683, 512


def scene(seed: int, num_classes: int = 150, regions: int = 120):
    """(683 x 512 RGB uint8, label uint8): Voronoi regions, each a class (about 60 distinct
    classes), its own mean colour and a little texture."""
    rng = np.random.default_rng(seed)
    seeds = rng.uniform((0, 0), (HEIGHT, WIDTH), size=(regions, 2))
    classes = rng.choice(num_classes, size=regions, replace=True,
                         p=np.linspace(2, 1, num_classes) / np.linspace(2, 1, num_classes).sum())
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    nearest = np.argmin((yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2,
                        axis=-1)
    label = classes[nearest].astype(np.uint8)
    colours = np.random.default_rng(1000).integers(30, 225, size=(num_classes, 3))
    image = colours[label] + rng.normal(0, 12, size=(HEIGHT, WIDTH, 3))
    return np.clip(image, 0, 255).astype(np.uint8), label


def write_images(folder: Path, count: int):
    from PIL import Image
    (folder / 'img').mkdir(parents=True, exist_ok=True)
    (folder / 'lab').mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(count):
        image, label = scene(i)
        Image.fromarray(image).save(folder / 'img' / f'scene{i}.png')
        Image.fromarray(label).save(folder / 'lab' / f'scene{i}.png')
        pairs.append((folder / 'img' / f'scene{i}.png', folder / 'lab' / f'scene{i}.png'))
    return pairs


def load_models():
    import torch

    from ssa_seg.apis import init_model
    torch.manual_seed(0)
    base = init_model(str(BASELINE))
    torch.manual_seed(1)
    ssa = init_model(str(SSA))
    return base, ssa


class Registry:
    """What ``app.services`` asks of a pair registry, for the two loaded models."""

    def __init__(self, base, ssa):
        from app.pairs import LoadedPair
        classes = [str(c) for c in base.dataset_meta['classes']]
        spec = SimpleNamespace(name='seaformer-l', baseline=SimpleNamespace(name='SeaFormer-L'),
                               ssa=SimpleNamespace(name='SeaFormer-L + SSA'))
        palette = [list(map(int, c)) for c in base.dataset_meta['palette']]
        self.pair = LoadedPair(spec, base, ssa, classes, palette)

    def get(self, name=None):
        return self.pair


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def parts(base, ssa, image, label, folder: Path) -> dict:
    """Seconds of each part for one image."""
    from analysis.extract import extract
    from analysis.figures import export_figure, image_kinds
    out = {}
    e_ssa, out['extract SSA-Seg'] = timed(extract, ssa, str(image), str(label), model_name='s')
    e_base, out['extract baseline'] = timed(extract, base, str(image), str(label),
                                            model_name='b')
    for name, kind in image_kinds().items():
        data, out[f'{name}: data'] = timed(kind.data, e_ssa, e_base)
        _, out[f'{name}: plotly'] = timed(kind.plotly, data)
        _, out[f'{name}: matplotlib png'] = timed(export_figure, data, folder / f'{name}.png')
    return out


def gradcam_seconds(base, ssa, images) -> float:
    from analysis.figures import FIGURES
    from analysis.figureset import FigureSet
    fs = FigureSet(images=images[:1], specs={})
    fs.use_model('baseline', base)
    fs.use_model('ssa', ssa)
    fs.specs = {r: SimpleNamespace(name=r, extra={}) for r in ('baseline', 'ssa')}
    fs.extraction('ssa', 0)
    _, seconds = timed(FIGURES['gradcam'].data, fs)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=2)
    args = parser.parse_args()
    import torch
    print(f'torch threads {torch.get_num_threads()}, OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS")}, nice {os.nice(0)}')
    base, ssa = load_models()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = write_images(folder, args.images)
        rows = [parts(base, ssa, image, label, folder) for image, label in images]
        print(f'\nper image (SeaFormer-L pair, 150 classes, {WIDTH}x{HEIGHT}), seconds, '
              f'mean of {len(rows)} images:')
        for key in rows[0]:
            print(f'  {key:<32} {np.mean([r[key] for r in rows]):7.2f}')
        print(f'  {"gradcam (set-level, 1 image)":<32} {gradcam_seconds(base, ssa, images):7.2f}')


if __name__ == '__main__':
    main()
