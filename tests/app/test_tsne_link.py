"""The Analysis tab's t-SNE linked to the image, in process (no browser): the linked image's
HTML, the inspected pixel's checks, the page's wiring of ``inspected`` to the t-SNE, and the
marker it draws, checked against a second computation from the model's own features."""
from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
gr = pytest.importorskip('gradio')

from app_inputs import tiny_pair, write_inputs  # noqa: E402

from app import page, services  # noqa: E402
from app.pairs import PairRegistry, pair_from_paths  # noqa: E402
from app.tabs import analysis as analysis_tab  # noqa: E402


@pytest.fixture(scope='module')
def registry(tmp_path_factory):
    args = tiny_pair(tmp_path_factory.mktemp('ckpt'))
    return PairRegistry([pair_from_paths(args[1:3], args[4:6], name='tiny')])


def _view(height=6, width=10):
    return SimpleNamespace(work=np.zeros((height, width, 3), np.uint8), name='a<b')


def test_inspected_pixel_is_checked_against_the_image():
    view = _view()
    assert analysis_tab.inspected_pixel((5, 9), view) == (5, 9)
    assert analysis_tab.inspected_pixel([2.0, 3], view) == (2, 3)
    for bad in (None, (6, 0), (0, 10), (-1, 0), ('a', 1), (1,)):
        assert analysis_tab.inspected_pixel(bad, view) is None, bad
    assert analysis_tab.inspected_pixel((1, 1), None) is None


def test_linked_image_html():
    assert analysis_tab.linked_image_html(None) == ''
    text = analysis_tab.linked_image_html(_view(), (2, 4))
    assert 'data-plot="tsne-plot"' in text and 'data-width="10" data-height="6"' in text
    assert 'data-selected=""' in text and 'data-inspected="2,4"' in text
    assert 'src="data:image/png;base64,' in text and 'a&lt;b' in text
    # the ring sits on the pixel's centre: (2.5 / 6, 4.5 / 10) of the image
    assert 'top:41.6667%;left:45.0000%' in text
    assert 'tsne-link-inspected' not in analysis_tab.linked_image_html(_view())


def _dependency(demo, trigger_id, event):
    for dep in demo.config['dependencies']:
        if [trigger_id, event] in [list(t) for t in dep['targets']]:
            return dep
    raise AssertionError(f'no {event} event on component {trigger_id}')


@pytest.mark.slow
def test_inspected_pixel_marks_the_tsne(registry, tmp_path):
    inputs = write_inputs(tmp_path / 'inputs')
    demo = page.build_demo(registry)
    ids = {getattr(b, 'elem_id', None): b._id for b in demo.blocks.values()}
    # the page wires the Segment tab's inspected pixel to the t-SNE plot and the image
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    marks = [d for d in demo.config['dependencies']
             if sorted(d['outputs']) == sorted([ids['tsne-plot'], ids['tsne-image']])]
    assert len(marks) == 1
    trigger = marks[0]['targets'][0]
    assert trigger[1] == 'change' and trigger[0] in {s._id for s in states}
    click = _dependency(demo, ids['analysis-button'], 'click')
    assert trigger[0] in click['inputs'] and ids['tsne-image'] in click['outputs']

    run = services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    view = run.view_state()
    options = analysis_tab.options_by_kind(analysis_tab.figure_options(),
                                           [o.value for o in analysis_tab.figure_options()])
    options['tsne'].update(max_points=60, iterations=(10, 20))
    *figures, data = services.analysis_figures(registry, view, None, options)
    tsne = data['tsne']
    # the pixels to inspect: one whose cell is a sampled point, one whose cell is not
    grid = tsne.panels[-1].grid
    sampled = {tuple(c) for c in tsne.panels[-1].cells.tolist()}
    boxes = grid.cell_boxes()
    cells = [(r, c) for r in range(grid.feature_size[0]) for c in range(grid.feature_size[1])]
    inside = next(rc for rc in cells if rc in sampled)
    outside = next(rc for rc in cells if rc not in sampled and boxes[rc][2] > boxes[rc][0])
    for cell, exact in ((inside, True), (outside, False)):
        y0, x0, y1, x1 = boxes[cell]
        pixel = (int(y1) - 1, int(x0))          # a corner pixel of the cell's box
        marked, html_text = analysis_tab.remark(data, view, pixel)
        assert f'data-inspected="{pixel[0]},{pixel[1]}"' in html_text
        stars = [t for t in marked.data if (t.name or '').startswith('inspected pixel')]
        assert len(stars) == len(tsne.panels)
        for star, panel, axis in zip(stars, tsne.panels, ('x', 'x2')):
            assert star.xaxis == axis
            point = _expected_point(registry, view, panel, marked, axis, pixel, exact)
            assert (star.x[0], star.y[0]) == pytest.approx(point), (cell, panel.title)
            assert ('nearest sampled point' in star.hovertemplate) == (not exact)
    # the analyse button's path marks it too; a pixel outside the image marks nothing
    out = analysis_tab.marked_figures(figures, data, view, (1, 2))
    assert any((t.name or '') == 'inspected pixel (y=1, x=2)' for t in out[0].data)
    assert 'data-inspected="1,2"' in out[-1]
    clear = analysis_tab.marked_figures(figures, data, view, (10_000, 0))
    assert not any('inspected' in (t.name or '') for t in clear[0].data)
    # a pixel of a newly segmented, larger image is not on these figures: no marker
    stale, _ = analysis_tab.remark(data, _view(1000, 1000), (900, 900))
    assert not any('inspected' in (t.name or '') for t in stale.data)
    # before the figures are computed there is nothing to mark
    assert analysis_tab.remark(None, view, (1, 2)) == (gr.skip(), gr.skip())


def _expected_point(registry, view, panel, fig, axis, pixel, exact):
    """Where the marker must be, from the figure's own points (their customdata boxes)
    and, when the pixel's cell was not sampled, the cosine to the model's features
    recomputed here."""
    xs, ys, custom = [], [], []
    for t in fig.data:
        if t.xaxis == axis and t.customdata is not None and len(t.x):
            xs += list(t.x)
            ys += list(t.y)
            custom += [list(c) for c in t.customdata]
    custom = np.asarray(custom)
    y, x = pixel
    holds = (custom[:, 2] <= y) & (y < custom[:, 4]) & (custom[:, 3] <= x) & (x < custom[:, 5])
    if exact:
        (i,) = np.flatnonzero(holds)
        return xs[i], ys[i]
    assert not holds.any()
    feats = _panel_features(registry, view, panel)          # C x h x w, this panel's space
    rows = feats.reshape(feats.shape[0], -1).T
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    cell = panel.grid.cell_of(y, x)
    target = rows[cell[0] * feats.shape[2] + cell[1]]
    sampled = rows[custom[:, 0] * feats.shape[2] + custom[:, 1]]
    i = int(np.argmax(sampled @ target))
    return xs[i], ys[i]


def _panel_features(registry, view, panel):
    from analysis import io as image_io
    from analysis.extract import extract
    pair = registry.get(view.pair)
    image = image_io.load_image(view.work)
    if panel.title.startswith('Baseline'):
        return extract(pair.baseline, image).feat.numpy()
    e = extract(pair.ssa, image)
    return (e.feat + e.pos_feat).numpy()
