"""The t-SNE linked to the image, in a real browser (Debian's chromium through Playwright):
segment a shipped example, compute the Analysis figures, drag a box over the SSA-Seg panel
of the t-SNE, and check the cells outlined on the image against the points inside the box,
found here from the plot's own data (each point's coordinates mapped through the axes to
the screen, and its cell and pixel box from its customdata)."""
from __future__ import annotations

import os

import pytest
from app_inputs import REPO
from test_app_browser import TIMEOUT_MS, _click_example, _open, browser, server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Every point of one subplot with its screen position (from the axes' ranges and their
# place in the page) and customdata; the prototypes (no customdata) are left out.
POINTS_JS = """(axis) => {
  const gd = document.querySelector('#tsne-plot .js-plotly-plot');
  const fl = gd._fullLayout, rect = gd.getBoundingClientRect();
  const xa = fl['xaxis' + axis], ya = fl['yaxis' + axis];
  const out = [];
  gd._fullData.forEach(t => {      // decoded arrays (plotly sends numpy arrays as binary)
    if (t.xaxis !== 'x' + axis || !t.customdata) { return; }
    for (let i = 0; i < t.x.length; i++) {
      const fx = (t.x[i] - xa.range[0]) / (xa.range[1] - xa.range[0]);
      const fy = (t.y[i] - ya.range[0]) / (ya.range[1] - ya.range[0]);
      out.push({px: rect.left + xa._offset + fx * xa._length,
                py: rect.top + ya._offset + (1 - fy) * ya._length,
                custom: Array.from(t.customdata[i]), text: t.text[i]});
    }
  });
  return {points: out, area: [rect.left + xa._offset, rect.top + ya._offset,
                              xa._length, ya._length]};
}"""


def _box(points, area):
    """A box over part of the subplot, on whole pixels (what mouse events carry), each edge
    moved by the fewest pixels (either way) that leave no point along it within 0.6 px, so
    that which side a point falls on is not a matter of rounding."""
    left, top, width, height = area
    box = [round(left + 0.4 * width), round(top + 0.35 * height),
           round(left + 0.75 * width), round(top + 0.6 * height)]

    def clear(side, value):
        axis, other, lo, hi = (('px', 'py', box[1], box[3]) if side % 2 == 0 else
                               ('py', 'px', box[0], box[2]))
        return all(abs(p[axis] - value) >= 0.6 for p in points if lo - 1 <= p[other] <= hi + 1)

    for _ in range(2):              # an edge moved changes which points the others cross
        for side in range(4):
            shift = next((d for d in (0, *[s * k for k in range(1, 40) for s in (1, -1)])
                          if clear(side, box[side] + d)), None)
            assert shift is not None, 'no clear edge for the selection box'
            box[side] += shift
    assert all(clear(side, box[side]) for side in range(4))
    return box


def _inside(points, box):
    x0, y0, x1, y1 = box
    return [p for p in points if x0 < p['px'] < x1 and y0 < p['py'] < y1]


def test_a_box_selection_outlines_its_cells_on_the_image(browser, server):  # noqa: F811
    page = _open(browser, server)
    try:
        _click_example(page)
        page.get_by_role('tab', name='Analysis').click()
        page.locator('#analysis-button').click()
        page.locator('#tsne-plot .js-plotly-plot').wait_for(timeout=TIMEOUT_MS)
        link = page.locator('#tsne-image .tsne-link')
        link.wait_for(state='visible', timeout=TIMEOUT_MS)
        page.locator('#tsne-plot').scroll_into_view_if_needed()
        page.wait_for_timeout(500)                      # the plot settles its layout
        width, height = int(link.get_attribute('data-width')), \
            int(link.get_attribute('data-height'))
        assert 'Select points' in page.locator('#tsne-image .tsne-link-count').inner_text()

        data = page.evaluate(POINTS_JS, '2')            # the SSA-Seg panel
        points, area = data['points'], data['area']
        assert len(points) > 100
        assert all(p['text'].split('<br>')[1].startswith('pixel (y=') for p in points)
        box = _box(points, area)
        chosen = _inside(points, box)
        assert len(chosen) >= 5, 'the box should hold some points'
        cells = {(p['custom'][0], p['custom'][1]): p['custom'] for p in chosen}
        expected = ';'.join(f'{r},{c}' for r, c in sorted(cells))
        pixels = sum((c[4] - c[2]) * (c[5] - c[3]) for c in cells.values())

        page.mouse.move(box[0], box[1])
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(box[0] + (box[2] - box[0]) * k / 10,
                            box[1] + (box[3] - box[1]) * k / 10)
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('#tsne-image .tsne-link').dataset.selected !== ''",
            timeout=10_000)
        assert link.get_attribute('data-selected') == expected
        assert page.locator('#tsne-image .tsne-link-box').count() == len(cells)
        count = page.locator('#tsne-image .tsne-link-count').inner_text()
        print(f'\n[t-SNE link] box over {len(chosen)} points: {count}')
        if os.environ.get('SSA_SAVE_SCREENSHOT'):
            plot = page.locator('#tsne-plot').bounding_box()
            right = page.locator('#tsne-image').bounding_box()
            page.screenshot(path=str(REPO / 'docs' / 'tsne_link_screenshot.png'), clip=dict(
                x=plot['x'], y=plot['y'], width=right['x'] + right['width'] - plot['x'],
                height=max(plot['height'], right['height'])))
        assert count.startswith(f'{pixels} pixels of {width * height} selected '
                                f'({len(cells)} feature cells, {len(chosen)} points)'), count
        # each outlined box covers its cell's pixel box on the image, to the pixel
        image = page.locator('#tsne-image .tsne-link-pane').bounding_box()
        first = page.locator('#tsne-image .tsne-link-box').first.bounding_box()
        y0, x0, y1, x1 = cells[min(cells)][2:]
        assert first['x'] - image['x'] == pytest.approx(x0 / width * image['width'], abs=1)
        assert first['y'] - image['y'] == pytest.approx(y0 / height * image['height'], abs=1)
        assert first['width'] == pytest.approx((x1 - x0) / width * image['width'], abs=1)

        # a double-click on the plot deselects: the outlines go
        page.mouse.dblclick(area[0] + 0.5 * area[2], area[1] + 0.5 * area[3])
        page.wait_for_function(
            "() => document.querySelector('#tsne-image .tsne-link').dataset.selected === ''",
            timeout=10_000)
        assert page.locator('#tsne-image .tsne-link-box').count() == 0
    finally:
        page.close()
