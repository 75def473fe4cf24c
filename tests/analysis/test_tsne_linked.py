"""The t-SNE linked to the image: the feature grid's geometry, the mixed-cell filter, each
point's pixel, and the inspected pixel's marker. Expected values are worked out by hand in
the comments (small constructed grids and labels)."""
import numpy as np
import pytest
import torch

from analysis.extract import label_to_feature_grid
from analysis.feature_grid import MIXED, FeatureGrid
from analysis.tsne import (
    TsneData,
    marked_point,
    pure_cell_mask,
    stratified_sample,
    tsne_panel,
)

FAST = dict(iterations=(10, 20), perplexity=5.0)


# --------------------------------------------------------------------------- geometry

def test_cell_boxes_without_resize():
    # 10 x 6 image, 4 x 3 grid: cell row r covers [2.5 r, 2.5 r + 2.5); pixel y lies in it
    # when its centre y + 0.5 does: rows {0,1}, {2,3,4}, {5,6}, {7,8,9}; columns 2 px each.
    grid = FeatureGrid((10, 6), (4, 3), (10, 6), (10, 6))
    rows, cols = grid.pixel_cells()
    assert rows.tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    assert cols.tolist() == [0, 0, 1, 1, 2, 2]
    boxes = grid.cell_boxes()
    assert boxes[:, 0, [0, 2]].tolist() == [[0, 2], [2, 5], [5, 7], [7, 10]]
    assert boxes[0, :, [1, 3]].T.tolist() == [[0, 2], [2, 4], [4, 6]]
    assert grid.cell_of(4, 5) == (1, 2) and grid.cell_of(7, 0) == (3, 0)
    with pytest.raises(ValueError, match='outside the 10 x 6 image'):
        grid.cell_of(10, 0)
    # centres: the middle pixel, the lower-right one of an even side
    assert FeatureGrid.centres(boxes[[1, 3], [2, 0]]).tolist() == [[3, 5], [8, 1]]


def test_cell_boxes_with_resize_and_padding():
    # 16 x 16 image resized to 8 x 8, padded to 12 x 8, feature grid 3 x 2: a feature row is
    # 4 padded rows = 8 image rows; row 2 lies over padding and holds no image pixel.
    grid = FeatureGrid.from_meta((16, 16), (3, 2), {'img_shape': (8, 8),
                                                    'pad_shape': (12, 8)})
    assert grid.scaled_size == (8, 8) and grid.padded_size == (12, 8)
    boxes = grid.cell_boxes()
    assert boxes[:, 0, [0, 2]].tolist() == [[0, 8], [8, 16], [16, 16]]
    assert boxes[0, :, [1, 3]].T.tolist() == [[0, 8], [8, 16]]
    with pytest.raises(ValueError, match='positive'):
        FeatureGrid((0, 4), (1, 1), (1, 1), (1, 1))


def test_the_demo_geometry():
    # the demo pair: 256 x 256 image, resized to 128, SegFormer stride 4 -> 32 x 32 cells of
    # 8 x 8 image pixels
    grid = FeatureGrid.from_meta((256, 256), (32, 32), {'img_shape': (128, 128)})
    assert grid.boxes([[0, 0], [3, 31]]).tolist() == [[0, 0, 8, 8], [24, 248, 32, 256]]
    assert grid.cell_of(255, 8) == (31, 1)


# --------------------------------------------------------------------------- mixed cells

def _two_class_label():
    """8 x 8 image over a 4 x 4 grid (2 x 2 pixel cells): class 1 left of x = 3, class 2
    from x = 3, so the boundary crosses column 1 (pixels x 2, 3). Cell (0, 0) is half
    ignored (rows 0, x 0..1: 255), cell (3, 3) wholly ignored."""
    label = np.ones((8, 8), np.int64)
    label[:, 3:] = 2
    label[0, 0:2] = 255
    label[6:, 6:] = 255
    return label


def test_cell_classes_of_a_two_class_label():
    grid = FeatureGrid((8, 8), (4, 4), (8, 8), (8, 8))
    classes = grid.cell_classes(_two_class_label(), 3)
    expected = np.array([[1, MIXED, 2, 2]] * 4)
    expected[3, 3] = 255                   # no labelled pixel
    assert classes.tolist() == expected.tolist()
    with pytest.raises(ValueError, match='does not match the image size'):
        grid.cell_classes(np.zeros((8, 7)), 3)


def test_pure_cell_mask_also_checks_the_cells_own_label():
    grid = FeatureGrid((8, 8), (4, 4), (8, 8), (8, 8))
    label = _two_class_label()
    cell_label = label_to_feature_grid(label, (4, 4), 3).numpy()
    # nearest neighbour takes the top-left pixel of each 2 x 2 cell: column 1 gets x = 2
    # (class 1), cell (0, 0) gets 255
    assert cell_label[:, 1].tolist() == [1, 1, 1, 1] and cell_label[0, 0] == 255
    mask = pure_cell_mask(grid, label, cell_label, 3)
    expected = np.ones((4, 4), bool)
    expected[:, 1] = False
    assert mask.tolist() == expected.tolist()
    # a cell whose pixels are all class 2 but which the feature grid calls 1 is left out
    wrong = cell_label.copy()
    wrong[2, 2] = 1
    assert not pure_cell_mask(grid, label, wrong, 3)[2, 2]


def _three_regions():
    """40 x 40 image, 20 x 20 grid of 2 x 2 cells. Class 0 for x < 13, class 1 for x >= 13,
    y < 31, class 2 for x >= 13, y >= 31. Column 6 (x 12, 13) and, right of it, row 15
    (y 30, 31) are mixed: 20 + 13 = 33 cells. Pure: class 0 6 x 20 = 120 cells, class 1
    13 x 15 = 195, class 2 13 x 4 = 52."""
    label = np.zeros((40, 40), np.int64)
    label[:31, 13:] = 1
    label[31:, 13:] = 2
    return FeatureGrid((40, 40), (20, 20), (40, 40), (40, 40)), label


def test_sample_drops_mixed_cells_and_stays_class_balanced():
    grid, label = _three_regions()
    cell_label = label_to_feature_grid(label, (20, 20), 3).numpy()
    allowed = pure_cell_mask(grid, label, cell_label, 3)
    assert int((~allowed).sum()) == 33
    feat = np.random.default_rng(0).normal(size=(8, 20, 20)).astype(np.float32)
    protos = {'fixed': np.eye(3, 8, dtype=np.float32)}
    panel = tsne_panel(feat, cell_label, protos, {'fixed': 'S'}, 0, title='t', domain='d',
                       max_points=180, grid=grid, allowed=allowed, **FAST)
    assert panel.mixed_dropped == 33
    rows, cols = panel.cells.T
    assert not ((cols == 6) | ((rows == 15) & (cols > 6))).any()
    # water-filling over the pure cells: shares of 60; class 2 has only 52, its 8 left go
    # to the other two: 64, 64, 52
    assert np.bincount(panel.point_classes, minlength=3).tolist() == [64, 64, 52]
    # each point's class is the one class of the pixels in its box
    for (y0, x0, y1, x1), cls in zip(panel.boxes, panel.point_classes):
        assert set(np.unique(label[y0:y1, x0:x1])) == {cls}
    # kept: the mixed cells are drawable again (same water-filling over all labelled cells)
    kept = tsne_panel(feat, cell_label, protos, {'fixed': 'S'}, 0, title='t', domain='d',
                      max_points=180, grid=grid, **FAST)
    assert kept.mixed_dropped is None
    assert np.array_equal(stratified_sample(cell_label, 180),
                          kept.cells[:, 0] * 20 + kept.cells[:, 1])


# --------------------------------------------------------------------------- the marker

def _angled_panel():
    """A 4 x 4 grid (8 x 8 image, 2 x 2 cells); cell k = 4 r + c has the feature at angle
    k * 6 degrees in a plane, scaled by 10 for cell 5 (cosine ignores the length, Euclidean
    distance would not). Only cells 0, 5, 10 and 15 may be sampled."""
    angles = np.deg2rad(6.0 * np.arange(16))
    feat = np.stack([np.cos(angles), np.sin(angles), np.zeros(16)]).astype(np.float32)
    feat[:, 5] *= 10
    allowed = np.zeros(16, bool)
    allowed[[0, 5, 10, 15]] = True
    classes = np.zeros(16, np.int64)
    grid = FeatureGrid((8, 8), (4, 4), (8, 8), (8, 8))
    return tsne_panel(feat.reshape(3, 4, 4), classes.reshape(4, 4),
                      {'fixed': np.eye(1, 3, dtype=np.float32)}, {'fixed': 'S'}, 0,
                      title='angles', domain='d', max_points=100, grid=grid,
                      allowed=allowed.reshape(4, 4), **FAST)


def test_marked_point_exact_or_nearest_by_cosine():
    panel = _angled_panel()
    assert panel.cells.tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]
    # pixel (1, 0) lies in cell (0, 0), a sampled point: marked exactly
    mark = marked_point(panel, (1, 0))
    assert (mark.cell, mark.index, mark.exact) == ((0, 0), 0, True)
    # pixel (3, 6): cell (1, 3) = k 7 at 42 degrees; sampled: 0, 30 (k 5), 60 (k 10) and 90
    # degrees: the nearest by cosine is k 5 (12 degrees away; by Euclidean distance it would
    # be k 10, since k 5 is 10 times longer)
    mark = marked_point(panel, (3, 6))
    assert (mark.cell, mark.exact) == ((1, 3), False)
    assert panel.cells[mark.index].tolist() == [1, 1]
    # pixel (5, 2): cell (2, 1) = k 9 at 54 degrees: nearest k 10 (6 degrees)
    assert panel.cells[marked_point(panel, (5, 2)).index].tolist() == [2, 2]
    with pytest.raises(ValueError, match='outside'):
        marked_point(panel, (8, 0))


def _data(panels):
    return TsneData(panels=panels, class_names=['a', 'b', 'c'], highlight=0, seed=0,
                    perplexity=5.0, backend='opentsne', max_points=100, source='label')


def test_plotly_hover_customdata_and_marker():
    from analysis.figures.tsne import tsne_plotly
    panel = _angled_panel()
    data = _data([panel, panel])
    fig = tsne_plotly(data)
    assert fig.layout.dragmode == 'select'
    points = [t for t in fig.data if t.customdata is not None and len(t.x)]
    assert len(points) == 2                    # one point trace per panel (all class 0)
    custom = np.asarray(points[0].customdata)
    # cell (r, r) of 2 x 2 pixels: box (2r, 2r, 2r + 2, 2r + 2), centre pixel (2r + 1, 2r + 1)
    assert custom.tolist() == [[r, r, 2 * r, 2 * r, 2 * r + 2, 2 * r + 2] for r in range(4)]
    assert points[0].text[2] == 'a<br>pixel (y=5, x=5), cell (2, 2)'
    assert not any('inspected' in (t.name or '') for t in fig.data)

    marked = tsne_plotly(data, pixel=(3, 6))
    stars = [t for t in marked.data if (t.name or '').startswith('inspected pixel')]
    assert len(stars) == 2 and [s.showlegend for s in stars] == [True, False]
    assert stars[0].name == 'inspected pixel (y=3, x=6)'
    assert (stars[0].xaxis, stars[1].xaxis) == ('x', 'x2')     # one per panel
    expected = panel.points[1]                                  # cell (1, 1), see above
    assert (stars[0].x[0], stars[0].y[0]) == (expected[0], expected[1])
    assert 'nearest sampled point' in stars[0].hovertemplate
    exact = tsne_plotly(data, pixel=(6, 7))                     # cell (3, 3): sampled
    star = [t for t in exact.data if (t.name or '').startswith('inspected pixel')][0]
    assert (star.x[0], star.y[0]) == tuple(panel.points[3])
    assert 'nearest' not in star.hovertemplate


# --------------------------------------------------------------------------- on a model

@pytest.fixture(scope='module')
def ssa_model():
    from tiny_models import tiny_config

    from ssa_seg.apis import init_model
    torch.manual_seed(0)
    return init_model(tiny_config('SegformerHead', ssa=True, num_classes=10))


def test_tsne_data_on_an_extraction(ssa_model):
    """48 x 80 image: the tiny pipeline resizes it to 38 x 64 and the grid is 10 x 16, so a
    cell is 4.8 x 5 image pixels; columns are x 5c..5c+4 exactly. Class 3 left of x = 37,
    class 7 from it: column 7 (x 35..39) is mixed. Rows 0..3 ignored: feature rows 0 and 1
    take their label from rows 0 and 3 (nearest neighbour), so they are unlabelled; rows
    2..9 are labelled: 8 mixed cells, 8 x 15 = 120 pure ones."""
    from analysis.extract import extract
    from analysis.figures.tsne import caption, summary
    from analysis.tsne import tsne_data
    image = np.random.default_rng(0).integers(0, 256, size=(48, 80, 3), dtype=np.uint8)
    label = np.full((48, 80), 3, np.uint8)
    label[:, 37:] = 7
    label[:4] = 255
    e = extract(ssa_model, image, label)
    assert e.grid.feature_size == (10, 16) and e.grid.scaled_size == (38, 64)
    assert e.image_label.shape == (48, 80) and int(e.image_label[0, 0]) == 255
    data = tsne_data(e, max_points=1000, **FAST)
    (panel,) = data.panels
    assert panel.mixed_dropped == 8 and len(panel.points) == 120
    expected = {(r, c) for r in range(2, 10) for c in range(16) if c != 7}
    assert {tuple(c) for c in panel.cells.tolist()} == expected
    assert '(mixed cells dropped: SSA-Seg: F+Pf vs centre 8)' in caption(data)
    assert summary(data)['mixed_cells_dropped'] == {panel.title: 8}
    kept = tsne_data(e, max_points=1000, mixed_cells='keep', **FAST)
    assert len(kept.panels[0].points) == 128 and kept.panels[0].mixed_dropped is None
    with pytest.raises(ValueError, match='mixed cells'):
        tsne_data(e, mixed_cells='maybe')
    # no label: the option has no effect, and the caption and summary say so
    bare = tsne_data(extract(ssa_model, image), max_points=1000, **FAST)
    assert bare.panels[0].mixed_dropped is None and len(bare.panels[0].points) == 160
    assert 'no label' in caption(bare) and summary(bare)['mixed_cells'] == 'no effect (no label)'
