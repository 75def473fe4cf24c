"""Per-image figures at the paper's scale (issue 22): a 150-class model (ADE20K-sized, random
weights: the geometry is the point) against a 10-class one. The label is built on the feature
grid so every class's pixel count is known by hand; the figures must show at most 20 classes
(the ones with most pixels), say so in the caption, fit a one-column page and keep their tick
labels apart."""
from dataclasses import replace

import numpy as np
import pytest
import torch
from figure_checks import overlapping_tick_labels
from tiny_models import tiny_config

MIN_PIXELS = 5              # the shift figure's default threshold
SHOWN = 20                  # the documented default number of classes shown
ONE_COLUMN_IN = 3.4


def _names(k):
    """Class names as datasets write them: mmseg's ADE20K 'bed ' (index 7, trailing space),
    a comma list and a slash, the rest plain."""
    names = [f'thing{i}' for i in range(k)]
    names[7] = 'bed '
    names[3] = 'chest of drawers, chest, bureau, dresser'
    names[5] = 'door/gate'
    return names


@pytest.fixture(scope='module', params=[10, 150])
def scene(request):
    """(extraction with a hand-built label, {class id: pixels at feature resolution}, k)."""
    from analysis.extract import extract
    from ssa_seg.apis import init_model
    k = request.param
    torch.manual_seed(0)
    cfg = tiny_config('SegformerHead', ssa=True, num_classes=k)
    cfg['test_dataloader']['dataset']['pipeline'][1]['scale'] = (288, 288)   # a 72x72 grid
    model = init_model(cfg)
    model.dataset_meta = {'classes': _names(k)}
    image = np.random.default_rng(0).integers(0, 256, size=(288, 288, 3), dtype=np.uint8)
    e = extract(model, image, model_name='ssa150')
    h, w = e.feature_size
    # k = 150: 90 classes with 5, 6, ..., 94 pixels (ids 0, 1, ..., 89; 'bed' has 12),
    # plus class 149 with 4 pixels (under the threshold). k = 10: every class, 5..14 pixels.
    present = list(range(90)) if k == 150 else list(range(k))
    counts = {c: MIN_PIXELS + i for i, c in enumerate(present)}
    if k == 150:
        counts[149] = MIN_PIXELS - 1
    flat = np.full(h * w, 255, np.int64)
    pos = 0
    for c, n in counts.items():
        flat[pos:pos + n] = c
        pos += n
    assert pos <= h * w, f'feature grid {h}x{w} too small for {pos} labelled pixels'
    label = torch.from_numpy(flat.reshape(h, w))
    return replace(e, label=label), counts, k


def _listed(counts):
    return {c: n for c, n in counts.items() if n >= MIN_PIXELS}


def _expected_top(counts):
    """The SHOWN listed classes with most pixels (the counts above have no ties)."""
    listed = _listed(counts)
    return set(sorted(listed, key=lambda c: -listed[c])[:SHOWN])


def test_shift_shows_the_classes_with_most_pixels_and_says_so(scene):
    from analysis.figures.shift import caption, shift_data
    e, counts, k = scene
    data = shift_data(e)
    listed = _listed(counts)
    expected = _expected_top(counts)
    assert len(data.rows) == min(SHOWN, len(listed))
    assert {r.class_index for r in data.rows} == expected
    assert {r.class_index: r.num_pixels for r in data.rows} == {c: counts[c] for c in expected}
    shown_text = f'{len(expected)} of {len(listed)} classes shown'
    assert shown_text == ('20 of 90 classes shown' if k == 150 else '10 of 10 classes shown')
    assert caption(data).startswith(shown_text)
    assert data.to_json_dict()['classes_listed'] == len(listed)
    # the margins are taken among all listed classes, not only the shown ones
    full = shift_data(e, max_classes=None)
    assert len(full.rows) == len(listed)
    ranks = {r.class_index: r.rank_fixed for r in full.rows}
    assert all(r.rank_fixed == ranks[r.class_index] for r in data.rows)


def test_shift_classes_by_name_and_clean_names(scene):
    from analysis.figures import FIGURES
    from analysis.figures.shift import caption, shift_data
    e, counts, k = scene
    assert e.class_names[7] == 'bed'                              # 'bed ' printed stripped
    assert e.class_names[3] == 'chest of drawers, chest, bureau, dresser'
    kind = FIGURES['shift']
    values = kind.with_classes(kind.option_values({'shift_classes': 'BED , door/gate',
                                                   'max_classes': 3}), e.class_names)
    assert values['shift_classes'] == ('bed', 'door/gate') and values['max_classes'] == 3
    data = shift_data(e, **values)
    assert [(r.name, r.num_pixels) for r in data.rows] == [('door/gate', counts[5]),
                                                          ('bed', counts[7])]
    assert caption(data).startswith(f'2 of {len(_listed(counts))} classes shown')
    three = shift_data(e, max_classes=3)
    top3 = sorted(_listed(counts), key=lambda c: -counts[c])[:3]
    assert sorted(r.class_index for r in three.rows) == sorted(top3)
    with pytest.raises(KeyError, match='unknown class'):
        kind.with_classes(kind.option_values({'shift_classes': 'sofa'}), e.class_names)
    if k == 150:
        with pytest.raises(KeyError, match='too few pixels'):
            shift_data(e, shift_classes=('thing149',))


def test_shift_figure_fits_one_column(scene):
    from analysis.figures.export import matplotlib_figure
    from analysis.figures.shift import shift_data
    e, counts, _ = scene
    fig = matplotlib_figure(shift_data(e))
    width, height = fig.get_size_inches()
    assert width == pytest.approx(ONE_COLUMN_IN)
    assert height <= 2 * width
    shown = len(_expected_top(counts))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert len(labels) == shown
    assert overlapping_tick_labels(fig) == []


def test_relations_show_the_same_classes_and_keep_labels_apart(scene):
    from analysis.figures.export import matplotlib_figure
    from analysis.relations import relation_data
    e, counts, _ = scene
    data = relation_data(e)
    # the relation matrices count every labelled pixel (no 5-pixel threshold)
    present = {c for c, n in counts.items() if n > 0}
    top = set(sorted(present, key=lambda c: -counts[c])[:SHOWN])
    assert set(data.classes) == top
    fig = matplotlib_figure(data)
    width, height = fig.get_size_inches()
    assert height <= 2 * width
    assert overlapping_tick_labels(fig) == []


def test_tsne_highlights_one_class_with_a_one_line_legend(scene):
    from analysis.figures.export import matplotlib_figure
    from analysis.tsne import tsne_data
    e, counts, _ = scene
    data = tsne_data(e, class_name='bed', max_points=300, iterations=(20, 30))
    assert data.highlight == 7 and data.highlight_name == 'bed'   # 'bed ' found, stripped
    fig = matplotlib_figure(data)
    width, height = fig.get_size_inches()
    assert height <= 2 * width
    assert overlapping_tick_labels(fig) == []
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for legend in legends:
        heights = {round(t.get_window_extent().y0) for t in legend.get_texts()}
        assert len(heights) == 1, 'legend entries on more than one line'
