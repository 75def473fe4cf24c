"""The page in a real browser (Debian's chromium through Playwright).

Uploads an image, waits for both masks and checks they are shown; a bad upload must show a
readable error and leave the page working. With ``SSA_SAVE_SCREENSHOT=1`` the screenshot is
written to ``docs/app_screenshot.png`` (the demo pair and a shipped example are used when
the manifest exists), otherwise to the test's temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_inputs import REPO, AppServer, tiny_pair, write_inputs

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
SCREENSHOT = REPO / 'docs' / 'app_screenshot.png'
TIMEOUT_MS = 60_000


def _server_args(tmp_path: Path):
    if (REPO / 'checkpoints' / 'manifest.yaml').is_file():
        try:
            from ssa_seg.zoo import load_zoo

            return ['--pair', load_zoo().pair().name]
        except Exception:   # a broken manifest is the zoo tests' business; use a tiny pair
            pass
    return tiny_pair(tmp_path / 'ckpt')


@pytest.fixture(scope='module')
def browser():
    if not CHROMIUM.exists():
        pytest.skip('Debian chromium is not installed at /usr/bin/chromium '
                    '(apt-get install -y chromium); Playwright cannot download its own here')
    sync_api = pytest.importorskip('playwright.sync_api')
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp('app_browser')
    with AppServer(_server_args(folder), folder / 'server.log') as srv:
        yield srv


def _example_image() -> Path:
    """A shipped example (the street scene when present: the most classes)."""
    images = sorted((REPO / 'app' / 'examples' / 'images').glob('*.png'))
    preferred = [p for p in images if p.name == 'synthscenes_val_00002.png']
    return (preferred or images or [None])[0]


def _open(browser, server):
    page = browser.new_page(viewport={'width': 1400, 'height': 1900})
    page.goto(server.url, wait_until='load')
    page.locator('#image-input input[type=file]').wait_for(state='attached', timeout=TIMEOUT_MS)
    return page


def _shown(page, elem_id: str) -> bool:
    """True when the component shows a decoded, non-empty image."""
    return page.evaluate(
        """(id) => { const img = document.querySelector('#' + id + ' img');
                     return !!img && img.complete && img.naturalWidth > 0; }""", elem_id)


def test_upload_shows_both_masks(browser, server, tmp_path):
    image = _example_image()
    if image is None:
        from app_inputs import scene
        from PIL import Image
        image = tmp_path / 'scene.png'
        Image.fromarray(scene(256, 256)).save(image)
    page = _open(browser, server)
    try:
        page.locator('#image-input input[type=file]').set_input_files(str(image))
        for elem_id in ('baseline-mask', 'ssa-mask'):
            page.locator(f'#{elem_id} img').wait_for(state='visible', timeout=TIMEOUT_MS)
        page.wait_for_function(
            """() => ['baseline-mask', 'ssa-mask', 'disagreement'].every(id => {
                   const img = document.querySelector('#' + id + ' img');
                   return img && img.complete && img.naturalWidth > 0; })""",
            timeout=TIMEOUT_MS)
        assert _shown(page, 'baseline-mask') and _shown(page, 'ssa-mask')
        assert 'ms' in page.locator('#timing').inner_text()
        assert page.locator('#legend .ssa-legend-item').count() >= 1
        label = REPO / 'app' / 'examples' / 'labels' / image.name
        if label.is_file():        # the ground truth adds per-class IoU and mIoU
            page.locator('#label-input input[type=file]').set_input_files(str(label))
            page.locator('#iou-table').get_by_text('mIoU').wait_for(timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)        # let the plot finish drawing for the screenshot
        target = SCREENSHOT if os.environ.get('SSA_SAVE_SCREENSHOT') else tmp_path / 'app.png'
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 10_000
    finally:
        page.close()


def test_bad_upload_shows_a_readable_error(browser, server, tmp_path):
    inputs = write_inputs(tmp_path / 'inputs')
    page = _open(browser, server)
    try:
        page.locator('#image-input input[type=file]').set_input_files(str(inputs['truncated']))
        page.get_by_text('truncated or corrupt').first.wait_for(state='visible',
                                                                timeout=TIMEOUT_MS)
        # the page (and the server) keep working after the error
        page.locator('#image-input button[aria-label="Remove Image"]').first.click()
        page.locator('#image-input input[type=file]').set_input_files(str(inputs['rgb']))
        page.locator('#ssa-mask img').wait_for(state='visible', timeout=TIMEOUT_MS)
        assert server.alive()
    finally:
        page.close()


def test_example_with_label_shows_iou_then_a_new_upload_drops_the_label(browser, server, tmp_path):
    examples = sorted((REPO / 'app' / 'examples' / 'images').glob('*.png'))
    if not examples:
        pytest.skip('no shipped examples in app/examples/images')
    from app_inputs import scene
    from PIL import Image

    page = _open(browser, server)
    try:
        page.get_by_text(examples[0].name).first.click()
        page.locator('#ssa-mask img').wait_for(state='visible', timeout=TIMEOUT_MS)
        page.locator('#iou-table').get_by_text('mIoU').wait_for(timeout=TIMEOUT_MS)
        other = tmp_path / 'other_size.png'
        Image.fromarray(scene(200, 300)).save(other)
        page.locator('#image-input input[type=file]').set_input_files(str(other))
        page.get_by_text('Label removed').first.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('#timing').innerText.includes('ms')",
            timeout=TIMEOUT_MS)
    finally:
        page.close()
