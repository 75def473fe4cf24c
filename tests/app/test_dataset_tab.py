"""The app's Dataset tab: the shipped demo report is found and shown, gallery choices open the
image in the Segment tab, and only files of the report loaded at start-up are ever read."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

gr = pytest.importorskip('gradio')

from analysis.dataset.report import ReportError, load_report  # noqa: E402
from app.tabs import dataset as dataset_tab  # noqa: E402

SHIPPED = dataset_tab.REPORTS_DIR / 'synthscenes-demo'
needs_report = pytest.mark.skipif(not (SHIPPED / 'summary.json').is_file(),
                                  reason='the demo report is not shipped')


@pytest.fixture(scope='module')
def report():
    return dataset_tab.find_report(None, 'synthscenes-demo')


@needs_report
def test_shipped_report_is_found_for_its_pair(report):
    assert report is not None and report['num_images'] == 200
    assert dataset_tab.find_report(None, 'another-pair') is None
    assert report['charts']['per_class_delta'].endswith('per_class_delta.png')
    assert len(report['gallery']) == 6


@needs_report
def test_tab_contents_come_from_the_summary(report):
    text = dataset_tab.summary_markdown(report)
    assert f'{report["miou_baseline"]:.2f}' in text and f'{report["mbiou_ssa"]:.2f}' in text
    rows = dataset_tab.class_rows(report)
    assert [r[0] for r in rows] == [c['name'] for c in report['classes']]
    assert rows[0][4] == pytest.approx(report['classes'][0]['iou_ssa']
                                       - report['classes'][0]['iou_baseline'], abs=1e-3)
    assert len(dataset_tab.confusion_rows(report)) == len(report['confusion_changes'])
    items = dataset_tab.gallery_items(report)
    assert len(items) == 6 and items[0][1].startswith('gain 1') and items[3][1].startswith('loss 1')
    picture = items[0][0]
    assert picture.dtype == np.uint8 and picture.shape[1] > 4 * picture.shape[0]   # 5 panels


@needs_report
def test_gallery_choice_opens_copies_of_the_report_files(report):
    image, label = dataset_tab.open_gallery_image(report, 3)
    entry = report['gallery'][3]
    assert open(image, 'rb').read() == open(entry['image'], 'rb').read()
    assert open(label, 'rb').read() == open(entry['label'], 'rb').read()
    assert str(gr.utils.get_upload_folder()) in image       # served from Gradio's own folder
    for bad in (None, -1, 6):
        with pytest.raises(gr.Error):
            dataset_tab.open_gallery_image(report, bad)


def test_report_files_outside_the_folder_are_dropped(tmp_path):
    folder = tmp_path / 'rep'
    folder.mkdir()
    (tmp_path / 'secret.png').write_bytes(b'x')
    (folder / 'strip.png').write_bytes(b'x')
    summary = dict(miou_baseline=1.0, miou_ssa=2.0, mbiou_baseline=1.0, mbiou_ssa=2.0,
                   num_images=1, classes=[], confusion_changes=[],
                   gallery=[dict(kind='gain', rank=1, name='a', miou_baseline=1, miou_ssa=2,
                                 file='../secret.png', image='strip.png', label=None),
                            dict(kind='gain', rank=2, name='b', miou_baseline=1, miou_ssa=2,
                                 file='strip.png', image='/etc/passwd', label='../secret.png')])
    (folder / 'summary.json').write_text(json.dumps(summary))
    loaded = load_report(folder)
    assert [e['name'] for e in loaded['gallery']] == ['b']
    assert loaded['gallery'][0]['image'] is None and loaded['gallery'][0]['label'] is None
    with pytest.raises(ReportError):
        dataset_tab.find_report(str(tmp_path))           # no summary.json there
    with pytest.raises(gr.Error, match='does not hold'):
        dataset_tab.open_gallery_image(loaded, 0)


def test_without_a_report_the_tab_says_how_to_make_one():
    assert '--dataset-report' in dataset_tab.summary_markdown(None)
    with gr.Blocks():
        tab = dataset_tab.build_dataset_tab(None)
    assert tab.buttons == []
    tab.connect(None, None)                               # nothing to wire


@needs_report
def test_tab_in_a_page_wired_to_the_segment_inputs(report, tmp_path):
    """The tab inside a Blocks page, its gallery select event writing two inputs and then
    running the given events (the Segment tab's, in the app)."""
    copy = tmp_path / 'rep'
    shutil.copytree(SHIPPED, copy)
    loaded = load_report(copy)
    with gr.Blocks() as page:
        image_in = gr.Image(type='filepath')
        label_in = gr.File(type='filepath')
        done = gr.Textbox()
        tab = dataset_tab.build_dataset_tab(loaded)
        tab.connect(image_in, label_in, dict(fn=lambda: 'ran', inputs=None, outputs=done))
    config = page.get_config_file()
    ids = {c.get('props', {}).get('elem_id') for c in config['components']}
    assert {'dataset-gallery', 'dataset-classes', 'dataset-delta-chart',
            'dataset-confusion-chart', 'dataset-summary'} <= ids
    assert {f'dataset-open-{i}' for i in range(6)} <= ids
    deps = config['dependencies']
    opens = [d for d in deps if any(t[1] == 'click' for t in d['targets'])]
    assert len(opens) == 6 and all(len(d['outputs']) == 2 for d in opens)
    assert sum(bool(d.get('js')) and 'Segment' in d['js'] for d in deps) == 6
    assert sum(d['outputs'] == [done._id] for d in deps) == 6


@pytest.mark.slow
@needs_report
def test_app_page_has_the_dataset_tab(report, tmp_path):
    """build_demo with the report: the tab is in the page and a gallery choice fills the
    Segment tab's image and label inputs, then runs the segmentation events."""
    from app_inputs import tiny_pair

    from app.page import build_demo
    from app.pairs import PairRegistry, pair_from_paths

    args = tiny_pair(tmp_path / 'ckpt')
    registry = PairRegistry([pair_from_paths(args[1:3], args[4:6], name='tiny')])
    page = build_demo(registry, dataset_report=report)
    config = page.get_config_file()
    by_id = {c['id']: c.get('props', {}).get('elem_id') for c in config['components']}
    opens = {by_id[t[0]]: d for d in config['dependencies'] for t in d['targets']
             if (by_id.get(t[0]) or '').startswith('dataset-open-')}
    assert len(opens) == 6
    assert [by_id[o] for o in opens['dataset-open-0']['outputs']] == ['image-input',
                                                                       'label-input']
    # the chain: select -> show the Segment tab -> segment -> details
    chain = [d for d in config['dependencies'] if d.get('trigger_after') is not None]
    assert any(d.get('js') and 'Segment' in d['js'] for d in chain)


@pytest.mark.slow
@pytest.mark.browser
@needs_report
def test_gallery_click_in_the_browser_segments_that_image(tmp_path):
    """The app with the demo pair finds the shipped report; opening a gallery image shows
    the Segment tab with both masks of that image and its IoU table (the label came too)."""
    from app_inputs import IMAGE_SHOWN, demo_dataset_tab
    with demo_dataset_tab(tmp_path) as page:
        page.locator('#dataset-summary').get_by_text('boundary mIoU').wait_for(timeout=60_000)
        page.locator('#dataset-open-3').click()
        page.wait_for_function(IMAGE_SHOWN, arg='ssa-mask', timeout=120_000)
        assert page.locator('#image-input').is_visible()          # the Segment tab is shown
        # the label came too: the IoU table (filled by the step after the masks) has mIoU
        page.locator('#iou-table').get_by_text('mIoU').first.wait_for(timeout=60_000)


def test_thousands():
    assert dataset_tab.thousands(-160563) == '-160.6k'
    assert dataset_tab.thousands(25000) == '+25.0k'
    assert dataset_tab.thousands(-999) == '-999' and dataset_tab.thousands(0) == '+0'


@needs_report
def test_confusion_chart_in_thousands_with_bars_to_scale(report):
    """Every change of the summary printed in thousands, each bar's length proportional to
    its change (the largest spans half the width), green for fewer mistakes."""
    import re

    chart = dataset_tab.confusion_chart_html(report)
    rows = report['confusion_changes']
    largest = max(abs(r['change']) for r in rows)
    bars = re.findall(r'class="ssa-change-bar" title="([^"]*)" style="[^"]*;(right|left):50%;'
                      r'width:([0-9.]+)%;background:(#[0-9a-f]{6})', chart)
    assert len(bars) == len(rows)
    for row, (title, side, width, colour) in zip(rows, bars):
        assert title.startswith(f'{row["true"]} as {row["pred"]}')
        assert float(width) == pytest.approx(50 * abs(row['change']) / largest, abs=0.01)
        assert (side, colour) == (('right', '#009e73') if row['change'] < 0
                                  else ('left', '#d55e00'))
        assert f'{round(row["change"] / 1000, 1):+.1f}k' in chart
    # no raw pixel count is printed outside the tooltips
    text = re.sub(r'title="[^"]*"', '', chart)
    assert not re.search(r'\d{5,}', re.sub(r'style="[^"]*"', '', text))
    assert 'no confusion changes' in dataset_tab.confusion_chart_html({})
