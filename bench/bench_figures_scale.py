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
    """(683 x 512 RGB uint8, label uint8): Voronoi regions, each a class (lower class ids a
    little more often), its class's colour and a little noise."""
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


def tsne_sizes(ssa, base, image, label, sizes=(1000, 3000)) -> dict:
    """t-SNE data seconds at a few sample sizes (3000: the default)."""
    from analysis.extract import extract
    from analysis.tsne import tsne_data
    e_ssa = extract(ssa, str(image), str(label))
    e_base = extract(base, str(image), str(label))
    return {n: timed(tsne_data, e_ssa, e_base, max_points=n)[1] for n in sizes}


def figure_set(models, images):
    """A FigureSet of the loaded models (baseline, SSA-Seg, ablation) on the images."""
    from analysis.figureset import FigureSet
    fs = FigureSet(images=list(images), name='seaformer-l',
                   specs={r: SimpleNamespace(name=r, extra={}) for r in models})
    for role, model in models.items():
        fs.use_model(role, model)
    return fs


def gradcam_seconds(models, images, shared_forward: bool) -> float:
    from analysis.figures import FIGURES
    fs = figure_set(models, images[:1])
    fs.extraction('ssa', 0)
    return timed(FIGURES['gradcam'].data, fs, shared_forward=shared_forward)[1]


def figures_endpoint(registry, image, label, before: bool, folder: Path) -> float:
    """``/figures`` for one image: before, the tab's path (plotly figures drawn, then the
    PNG files); now, ``api_figures`` (no plotly figures)."""
    from app import services
    from app.export import export_figures
    start = time.perf_counter()
    if before:
        view = services.analysis_state(registry, str(image), str(label))
        *_, data = services.analysis_figures(registry, view, None)
        export_figures(data, ['png'], view)
        services.FIGURES['shift'].to_json(data['shift'])
    else:
        services.api_figures(registry, str(image), str(label))
    return time.perf_counter() - start


def paper_seconds(models, images, before: bool, folder: Path) -> float:
    """``write_paper`` on the images with fresh extractions. Before: Grad-CAM a forward
    per class plus one for the prediction, each figure rendered once per file."""
    from analysis import report
    from analysis.figures import export_figure
    fs = figure_set(models, images)
    options = {'gradcam': {'shared_forward': False}} if before else None
    once = report.export_paper_files
    if before:
        report.export_paper_files = lambda data, paths, column=None: [
            export_figure(data, p, column=column) for p in paths]
    try:
        return timed(report.write_paper, fs, folder / ('before' if before else 'now'),
                     options=options)[1]
    finally:
        report.export_paper_files = once


def docs_figure(path: str) -> None:
    """The shift figure of the SSA-Seg model on the first scene, one column, as PNG."""
    from analysis.extract import extract
    from analysis.figures import export_figure
    from analysis.figures.shift import shift_data
    _, ssa = load_models()
    with tempfile.TemporaryDirectory() as tmp:
        image, label = write_images(Path(tmp), 1)[0]
        data = shift_data(extract(ssa, str(image), str(label), model_name='SeaFormer-L + SSA'))
    print(export_figure(data, path, column='one'), f'({len(data.rows)} of '
          f'{data.num_candidates} classes)')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=2)
    parser.add_argument('--docs-figure', metavar='PNG',
                        help='only write the one-column shift figure of the first image '
                             '(the README\'s 150-class example) and stop')
    args = parser.parse_args()
    if args.docs_figure:
        return docs_figure(args.docs_figure)
    import torch
    print(f'torch threads {torch.get_num_threads()}, OMP_NUM_THREADS='
          f'{os.environ.get("OMP_NUM_THREADS")}, nice {os.nice(0)}')
    base, ssa = load_models()
    torch.manual_seed(2)
    from ssa_seg.apis import init_model
    models = {'baseline': base, 'ssa': ssa, 'ablation': init_model(str(SSA))}
    registry = Registry(base, ssa)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = write_images(folder, args.images)
        rows = [parts(base, ssa, image, label, folder) for image, label in images]
        n = len(rows)
        print(f'\nper image (SeaFormer-L pair, 150 classes, {WIDTH}x{HEIGHT}), seconds, '
              f'mean of {n} images:')
        for key in rows[0]:
            print(f'  {key:<34} {np.mean([r[key] for r in rows]):7.2f}')
        sizes = tsne_sizes(ssa, base, *images[0])
        print('  t-SNE data by sample size:       ' +
              ', '.join(f'{k} points {v:.2f} s' for k, v in sizes.items()))
        print('\nbefore and after, seconds (same run, same images):')
        grad = {b: gradcam_seconds(models, images, shared_forward=not b) for b in (True, False)}
        # interleaved (before, now, now, before) per image, best of two: the 0.4 s saved is
        # smaller than this shared machine's drift between runs
        endpoint = {True: [], False: []}
        for image, label in images:
            runs = {True: [], False: []}
            for before in (True, False, False, True):
                runs[before].append(figures_endpoint(registry, image, label, before, folder))
            for before in runs:
                endpoint[before].append(min(runs[before]))
        endpoint = {b: float(np.mean(v)) for b, v in endpoint.items()}
        paper = {b: paper_seconds(models, images, b, folder) for b in (True, False)}
        print(f'  {"":<34} {"before":>8} {"now":>8} {"ratio":>7}')
        for name, values, per in (('Grad-CAM (per set: 1 image, 3 cl.)', grad, 1),
                                  ('/figures per image', endpoint, 1),
                                  (f'paper per image ({n} images)', paper, n)):
            old, new = values[True] / per, values[False] / per
            print(f'  {name:<34} {old:8.2f} {new:8.2f} {old / new:6.2f}x')


if __name__ == '__main__':
    main()
