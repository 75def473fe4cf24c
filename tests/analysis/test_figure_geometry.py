"""Every figure kind on a paper page (issue 22): drawn for a 150-class pair (ADE20K-sized,
random weights: the geometry is the point) and a 10-class pair, at one column (3.4 in) and
two columns (7 in). Each figure must be exactly the column wide, at most twice as high as
wide, keep its tick labels apart and print no text below 6 pt; the 150-class figures must
really draw many classes, the same ones the shift figure ranks first.

The labels are built on the feature grid (4 x 4 image pixels per cell), so every class's
pixel count is known by hand: with 150 classes, classes 0..89 have 5, 6, ..., 94 cells
(the 20 with most: 70..89); with 10 classes, class i has 40 (i + 1) cells."""
import json

import cv2
import numpy as np
import pytest
import torch
from figure_checks import overlapping_tick_labels, small_texts
from tiny_models import tiny_config

GRID = 72                       # feature grid of a 288 x 288 image (SegFormer stride 4)
COLUMNS = {'one': 3.4, 'two': 7.0}
SHOWN = 20                      # the documented default number of classes drawn
FAST_TSNE = dict(max_points=300)
KINDS = ('tsne', 'relations', 'shift', 'distillation', 'curves', 'offsets', 'intraclass',
         'gradcam')


def _names(k):
    names = [f'class name {i}' for i in range(k)]
    names[7] = 'bed '
    names[3] = 'chest of drawers, chest, bureau, dresser'
    names[5] = 'door/gate'
    return names


def _counts(k):
    """Feature-grid cells per class."""
    if k == 150:
        return {c: 5 + c for c in range(90)}
    return {c: 40 * (c + 1) for c in range(k)}


def _label(k):
    flat = np.full(GRID * GRID, 255, np.uint8)
    pos = 0
    for c, n in _counts(k).items():
        flat[pos:pos + n] = c
        pos += n
    grid = flat.reshape(GRID, GRID)
    return np.kron(grid, np.ones((4, 4), np.uint8))          # 288 x 288, exact 4x4 blocks


class Spec:
    """A model entry of a FigureSet: the already built tiny model."""

    def __init__(self, model, name):
        self.model, self.name, self.extra = model, name, {}

    def init(self, device):
        return self.model


def _model(k, ssa, seed):
    from ssa_seg.apis import init_model
    torch.manual_seed(seed)
    cfg = tiny_config('SegformerHead', ssa=ssa, num_classes=k)
    cfg['test_dataloader']['dataset']['pipeline'][1]['scale'] = (288, 288)
    model = init_model(cfg)
    model.dataset_meta = {'classes': _names(k)}
    return model


def _logs(folder):
    logs = {}
    for role, values in (('baseline', [30.0, 40.0, 45.0]), ('ssa', [35.0, 46.0, 50.0]),
                         ('ablation', [33.0, 44.0, 47.0])):
        path = folder / f'{role}_scalars.json'
        path.write_text('\n'.join(json.dumps({'mIoU': v, 'step': 1000 * (i + 1)})
                                  for i, v in enumerate(values)) + '\n')
        logs[role] = [path]
    return logs


@pytest.fixture(scope='module', params=[10, 150])
def pair_figures(request, tmp_path_factory):
    """(k, {kind: data}) for the tiny pair with k classes on two labelled 288 x 288 images."""
    from analysis.figures import FIGURES
    from analysis.figureset import FigureSet
    k = request.param
    folder = tmp_path_factory.mktemp(f'scene{k}')
    rng = np.random.default_rng(k)
    images = []
    for i in range(2):
        image = rng.integers(0, 256, size=(288, 288, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f'img{i}.png'), image)
        cv2.imwrite(str(folder / f'img{i}_label.png'), _label(k))
        images.append((folder / f'img{i}.png', folder / f'img{i}_label.png'))
    specs = {'baseline': Spec(_model(k, False, 1), 'base'), 'ssa': Spec(_model(k, True, 0), 'ssa'),
             'ablation': Spec(_model(k, True, 2), 'abl')}
    fs = FigureSet(specs=specs, images=images, logs=_logs(folder))
    ssa, base = fs.extraction('ssa', 0), fs.extraction('baseline', 0)
    data = {}
    for name in KINDS:
        kind = FIGURES[name]
        extra = FAST_TSNE if name in ('tsne', 'offsets', 'intraclass') else {}
        data[name] = (kind.data(fs, **extra) if kind.level == 'set'
                      else kind.data(ssa, base, **extra))
    return k, data


def test_every_kind_is_covered():
    from analysis.figures import FIGURES
    assert set(KINDS) == set(FIGURES)


@pytest.mark.parametrize('column', list(COLUMNS))
@pytest.mark.parametrize('kind', KINDS)
def test_figure_fits_the_page(pair_figures, kind, column):
    from analysis.figures import matplotlib_figure
    k, data = pair_figures
    fig = matplotlib_figure(data[kind], column)
    width, height = fig.get_size_inches()
    assert width == pytest.approx(COLUMNS[column]), (kind, k, column)
    assert height <= 2 * width + 1e-9, (kind, k, column, height)
    assert overlapping_tick_labels(fig) == [], (kind, k, column)
    assert small_texts(fig) == [], (kind, k, column)


def _tick_texts(ax, axis='y'):
    labels = ax.get_yticklabels() if axis == 'y' else ax.get_xticklabels()
    return [t.get_text() for t in labels if t.get_text().strip()]


def _top(k, n):
    counts = _counts(k)
    return sorted(counts, key=lambda c: -counts[c])[:n]


@pytest.mark.parametrize('column', list(COLUMNS))
def test_many_classes_are_drawn_and_agree_with_the_shift_figure(pair_figures, column):
    """The shift figure draws the 20 classes with most pixels (by hand: 70..89 at 150
    classes, every class at 10); the relation matrices and the distillation figure draw a
    prefix of that ranking (as many as keep a 6 pt name at this width), at 150 classes
    never fewer than 10."""
    from analysis.figures import matplotlib_figure
    from analysis.figures.paper import short_name
    k, data = pair_figures
    names = _names(k)
    expected = [names[c].strip() for c in _top(k, SHOWN)]
    shift = data['shift']
    assert sorted(r.name for r in shift.rows) == sorted(expected)
    labels = _tick_texts(matplotlib_figure(shift, column).axes[0])
    assert len(labels) == len(expected)
    for kind in ('relations', 'distillation'):
        fig = matplotlib_figure(data[kind], column)
        drawn = _tick_texts(fig.axes[0])
        ranked = [short_name(n) for n in expected]
        assert sorted(drawn) == sorted(ranked[:len(drawn)]), (kind, column)
        assert len(drawn) >= (10 if k == 150 else k), (kind, column, len(drawn))
        if k == 10:
            assert fig._suptitle is None or not fig._suptitle.get_text()
        elif len(drawn) < 90:
            total = 90
            assert fig._suptitle.get_text().startswith(f'{len(drawn)} of {total} classes')
