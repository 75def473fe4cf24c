"""The Dataset tab's new parts: the paired deltas in the summary, the band/interior chart, and
the drill-down (a confusion's images, each opened in the Segment tab); on a report written
by analysis.dataset.report from constructed numbers."""
from __future__ import annotations

import numpy as np
import pytest

gr = pytest.importorskip('gradio')

from analysis.breakdown import add_confusion_images  # noqa: E402
from analysis.dataset.compare import DatasetTotals, summarize  # noqa: E402
from analysis.dataset.gallery import GalleryRow  # noqa: E402
from analysis.dataset.report import load_report, write_report  # noqa: E402
from app.tabs import dataset as dataset_tab  # noqa: E402

PALETTE = [(0, 0, 0), (200, 0, 0)]


def small_report(tmp_path):
    """Three 8 x 8 images, classes x and y; the baseline calls 8, 6 and 0 x pixels y, SSA-Seg
    none: one confusion change (x as y, -14) with two images."""
    totals = DatasetTotals(2)
    label = np.zeros((8, 8), np.uint8)
    label[:, 4:] = 1
    inputs = {}
    for i, wrong in enumerate((8, 6, 0)):
        base = label.astype(np.int64)
        base.reshape(-1)[np.flatnonzero(label.reshape(-1) == 0)[:wrong]] = 1
        path = tmp_path / f'{i}.png'
        from PIL import Image
        Image.fromarray(np.full((8, 8, 3), 90 + i, np.uint8)).save(path)
        totals.add_image(i, path.name, str(path), label, dict(baseline=base, ssa=label))
        inputs[path.name] = dict(img_path=str(path), label=label)
    summary = dict(pair='p', models=dict(baseline='b', ssa='s'),
                   **summarize(totals, ['x', 'y'], resamples=200))
    add_confusion_images(summary, totals.images, ['x', 'y'])
    panels = [np.full((8, 8, 3), 255, np.uint8)] * 5
    drill = [GalleryRow('confusion01', rank, name, 50.0, 100.0, panels)
             for rank, name in ((1, '0.png'), (2, '1.png'))]
    write_report(summary, totals.confusion, tmp_path / 'rep', (), inputs, PALETTE,
                 pdf=False, drilldown=drill)
    return load_report(tmp_path / 'rep')


def test_summary_shows_the_interval_and_p_value(tmp_path):
    report = small_report(tmp_path)
    delta = report['delta_miou']
    text = dataset_tab.summary_markdown(report)
    assert f'[{delta["ci95"][0]:+.2f}, {delta["ci95"][1]:+.2f}]' in text
    assert f'p {delta["p_value"]:.2g}' in text and '27 resamples' in text   # 3^3: exact
    assert report['charts']['error_breakdown'].endswith('error_breakdown.png')
    rows = dataset_tab.class_rows(report)
    ci = report['classes'][0]['delta_iou_ci95']
    assert rows[0][8] == f'[{ci[0]:+.2f}, {ci[1]:+.2f}]' and len(rows[0]) == 10
    assert (tmp_path / 'rep' / 'error_breakdown.png').stat().st_size > 1000


def test_choosing_a_confusion_shows_its_images_and_opens_them(tmp_path):
    report = small_report(tmp_path)
    change = report['confusion_changes'][0]
    assert (change['true'], change['pred'], change['change']) == ('x', 'y', -14)
    assert [(e['name'], e['baseline'], e['ssa']) for e in change['images']] == [
        ('0.png', 8, 0), ('1.png', 6, 0)]
    assert dataset_tab.confusion_choices(report) == [('x as y (-14 px)', 0)]
    items = dataset_tab.drill_items(report, 0)
    assert len(items) == 2 and items[1][1] == '1.png: x as y 6 -> 0 px'
    assert items[0][0].shape == (8, 5 * 8 + 4 * 4, 3)           # the written strip
    image, label = dataset_tab.open_drill_image(report, 0, 1)
    assert open(image, 'rb').read() == (tmp_path / '1.png').read_bytes()
    assert label.endswith('1_label.png')
    assert dataset_tab.drill_items(report, 5) == []
    # the slots: two strips and their buttons shown, a third slot hidden
    slots = dataset_tab.drill_slots(report, 0, 3)
    assert [u['visible'] for u in slots] == [True, True, False, True, True, False]
    assert slots[1]['label'] == items[1][1] and slots[4]['value'] == \
        'Open 1.png in the Segment tab'
    with pytest.raises(gr.Error, match='confusion'):
        dataset_tab.open_drill_image(report, None, 0)
    with pytest.raises(gr.Error, match='images'):
        dataset_tab.open_drill_image(report, 0, 2)


def test_drilldown_in_a_page_wired_to_the_segment_inputs(tmp_path):
    report = small_report(tmp_path)
    with gr.Blocks() as page:
        image_in = gr.Image(type='filepath')
        label_in = gr.File(type='filepath')
        done = gr.Textbox()
        tab = dataset_tab.build_dataset_tab(report)
        tab.connect(image_in, label_in)
        tab.connect_drilldown(image_in, label_in, dict(fn=lambda: 'ran', inputs=None,
                                                       outputs=done))
    config = page.get_config_file()
    ids = {c['id']: c.get('props', {}).get('elem_id') for c in config['components']}
    assert {'dataset-drill-choice', 'dataset-drill-row-0', 'dataset-drill-row-1',
            'dataset-drill-open-0', 'dataset-drill-open-1',
            'dataset-breakdown-chart'} <= set(ids.values())
    deps = config['dependencies']
    opens = [d for d in deps
             if any((ids.get(t[0]) or '').startswith('dataset-drill-open') for t in d['targets'])]
    assert len(opens) == 2 and all(d['outputs'] == [image_in._id, label_in._id] for d in opens)
    assert sum(bool(d.get('js')) and 'Segment' in d['js'] for d in deps) == 2
    assert sum(d['outputs'] == [done._id] for d in deps) == 2
    # choosing a row of the confusion table sets the drop-down, which fills the slots
    selects = [d for d in deps for t in d['targets'] if t[1] == 'select']
    assert [ids[t[0]] for d in selects for t in d['targets']] == ['dataset-confusions']
    choice = next(i for i, e in ids.items() if e == 'dataset-drill-choice')
    assert selects[0]['outputs'] == [choice]
    fills = [d for d in deps if any(t[0] == choice and t[1] == 'change' for t in d['targets'])]
    assert len(fills) == 1 and len(fills[0]['outputs']) == 4


@pytest.mark.slow
@pytest.mark.browser
def test_drilldown_in_the_browser_opens_the_chosen_image(tmp_path):
    """The app with the demo pair and its shipped report: choosing the second confusion row
    shows its images, and opening the second of them segments that image in the Segment
    tab, with its label (the IoU table)."""
    from app_inputs import IMAGE_SHOWN, demo_dataset_tab
    report = dataset_tab.find_report(None, 'synthscenes-demo')
    first, second = report['confusion_changes'][0], report['confusion_changes'][1]
    chosen = second['images'][1]['name']
    with demo_dataset_tab(tmp_path) as page:
        drill = page.locator('#dataset-drilldown')
        drill.get_by_text(first['images'][0]['name']).first.wait_for(timeout=60_000)
        page.locator('#dataset-confusions [data-testid="cell-1-0"]').click()   # row 2
        drill.get_by_text(f'{chosen}: {second["true"]} as {second["pred"]}').wait_for(
            timeout=60_000)
        page.wait_for_function(IMAGE_SHOWN, arg='dataset-drill-row-1', timeout=60_000)
        page.locator('#dataset-drill-open-1').click()
        page.wait_for_function(IMAGE_SHOWN, arg='ssa-mask', timeout=120_000)
        assert page.locator('#image-input').is_visible()          # the Segment tab is shown
        assert chosen in page.locator('#image-input img').first.get_attribute('src')
        page.locator('#iou-table').get_by_text('mIoU').first.wait_for(timeout=60_000)
