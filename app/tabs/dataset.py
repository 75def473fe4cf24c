"""The Dataset tab: a report written by ``python -m analysis dataset``, shown in the page.

The report is chosen when the app starts (``--dataset-report DIR``, else the shipped report
of the default pair, ``checkpoints/reports/<pair name>/``); the page never reads a path a
browser user typed. Opening a gallery image copies that image and its label into Gradio's
temporary folder and opens them in the Segment tab, where both models run on it.

Choosing a confusion row (the table, or the drop-down below it) shows the images where that
confusion changed most (both masks and the error map, written by the report), and any of
them opens in the Segment tab like a gallery image (:meth:`DatasetTab.connect_drilldown`).

Every number comes from the report's ``summary.json`` (read by
:func:`analysis.dataset.report.load_report`); pictures are read with :mod:`analysis.io`.
"""
from __future__ import annotations

import html
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import gradio as gr

from analysis import io as image_io
from analysis.dataset.report import BETTER, WORSE, ReportError, load_report, per_class_rows
from ssa_seg.zoo import REPO_ROOT

from ..files import asset

REPORTS_DIR = REPO_ROOT / 'checkpoints' / 'reports'
CLASS_HEADERS = ['class', 'GT pixels', 'IoU baseline', 'IoU SSA-Seg', 'IoU delta',
                 'BIoU baseline', 'BIoU SSA-Seg', 'BIoU delta', 'IoU delta 95%',
                 'BIoU delta 95%']
CONFUSION_HEADERS = ['true class', 'predicted as', 'baseline px', 'SSA-Seg px', 'change']
SHOW_SEGMENT_TAB = asset('show_segment_tab.js')     # JavaScript: switch to the Segment tab


def find_report(path: Optional[str] = None, pair_name: Optional[str] = None,
                reports_dir: Path = REPORTS_DIR) -> Optional[dict]:
    """The report to show: ``path`` (must be a report), else ``reports_dir/<pair_name>`` if
    the project ships one, else None. Raises :class:`ReportError` for a bad ``path``."""
    if path:
        return load_report(path)
    if pair_name:
        candidate = reports_dir / pair_name
        if (candidate / 'summary.json').is_file():
            try:
                return load_report(candidate)
            except ReportError:
                return None
    return None


def _fmt(value) -> str:
    return 'n/a' if value is None else f'{value:.2f}'


def _delta_cell(stats: Optional[dict]) -> str:
    """'+7.76 [+6.70, +12.30], p 0.0005' from a ``delta_miou``-like entry ('' without one)."""
    if not stats or stats.get('value') is None:
        return ''
    ci = stats.get('ci95')
    interval = f' [{ci[0]:+.2f}, {ci[1]:+.2f}]' if ci else ''
    return f'{interval}, p {stats["p_value"]:.2g}'


def summary_markdown(report: Optional[dict]) -> str:
    if not report:
        return ('No data-set report. Write one with `python -m analysis dataset --data-root DIR '
                '--out DIR` and start the app with `--dataset-report DIR`.')
    models = report.get('models') or {}
    gain = (report['miou_ssa'] or 0) - (report['miou_baseline'] or 0)
    bgain = (report['mbiou_ssa'] or 0) - (report['mbiou_baseline'] or 0)
    paired = report.get('delta_miou') or {}
    note = (f'\n95% intervals: paired image bootstrap ({paired["resamples"]} resamples, seed '
            f'{paired["seed"]}); p: paired permutation test ({paired["permutations"]} '
            'permutations, two-sided'
            + ('' if paired.get('exact') else
               f'; the smallest p it can give is 1/{paired["permutations"] + 1}')
            + ').\n' if paired else '')
    return (
        f'**{report.get("pair", "")}** on {report["num_images"]} images of '
        f'`{report.get("dataset_type", "")}` split `{report.get("split", "")}` '
        f'({models.get("baseline", "baseline")} vs {models.get("ssa", "SSA-Seg")})\n\n'
        '| | baseline | SSA-Seg | delta [95% interval], p |\n|---|---:|---:|---:|\n'
        f'| mIoU | {_fmt(report["miou_baseline"])} | {_fmt(report["miou_ssa"])} | '
        f'{gain:+.2f}{_delta_cell(report.get("delta_miou"))} |\n'
        f'| boundary mIoU (d = 2% of the diagonal) | {_fmt(report["mbiou_baseline"])} | '
        f'{_fmt(report["mbiou_ssa"])} | {bgain:+.2f}{_delta_cell(report.get("delta_mbiou"))} |\n'
        + note)


def class_rows(report: Optional[dict]) -> List[list]:
    if not report:
        return []
    intervals = [(_interval(c.get('delta_iou_ci95')), _interval(c.get('delta_biou_ci95')))
                 for c in report['classes']]
    return [[r['name'], r['pixels'], r['iou_baseline'], r['iou_ssa'], r['iou_delta'],
             r['biou_baseline'], r['biou_ssa'], r['biou_delta'], *ci]
            for r, ci in zip(per_class_rows(report), intervals)]


def _interval(ci) -> str:
    return f'[{ci[0]:+.2f}, {ci[1]:+.2f}]' if ci else ''


def confusion_rows(report: Optional[dict]) -> List[list]:
    if not report:
        return []
    return [[r['true'], r['pred'], r['baseline'], r['ssa'], r['change']]
            for r in report['confusion_changes']]


def thousands(pixels: int) -> str:
    """A signed pixel count for a chart: in thousands (k) from 1000 on (-160563 -> -160.6k)."""
    return f'{pixels / 1000:+.1f}k' if abs(pixels) >= 1000 else f'{pixels:+d}'


def confusion_chart_html(report: dict) -> str:
    """The confusion changes of the report as a diverging bar chart (HTML): one row per
    (true, predicted) pair, the bar's length relative to the largest change, green left of
    the middle where SSA-Seg makes that mistake less, and the change printed in thousands.
    The report's PNG (``analysis.dataset.report.confusion_figure``) is the paper version;
    in the page its axis of raw pixel counts overlapped at the tab's width."""
    rows = report.get('confusion_changes') or []
    if not rows:
        return '<div class="ssa-confusion"><em>no confusion changes</em></div>'
    largest = max(abs(r['change']) for r in rows) or 1
    cell = 'border:none;padding:1px 0;white-space:nowrap;'
    body = []
    for r in rows:
        name = f'{html.escape(str(r["true"]))} as {html.escape(str(r["pred"]))}'
        side = 'right:50%' if r['change'] < 0 else 'left:50%'
        bar = (f'<span class="ssa-change-bar" title="{name}: {r["change"]:+d} pixels" '
               f'style="position:absolute;top:2px;bottom:2px;{side};'
               f'width:{50 * abs(r["change"]) / largest:.2f}%;'
               f'background:{BETTER if r["change"] < 0 else WORSE}"></span>')
        body.append(f'<tr><td style="{cell}padding-right:8px;text-align:right">{name}</td>'
                    f'<td style="{cell}width:100%;position:relative;height:18px">'
                    '<span style="position:absolute;left:50%;top:0;bottom:0;'
                    f'border-left:1px solid #333"></span>{bar}</td>'
                    f'<td style="{cell}padding-left:8px;text-align:right">'
                    f'{thousands(r["change"])}</td></tr>')
    return ('<div class="ssa-confusion"><div style="font-size:0.9em;margin-bottom:4px">'
            'Largest changes of the confusion matrix (true class as predicted class): '
            'pixels, SSA-Seg - baseline, k = thousand; <span style="color:' + BETTER + '">'
            'green: fewer mistakes</span></div>'
            f'<table style="width:100%;border-collapse:collapse">{"".join(body)}</table></div>')


def _picture(path: Optional[str]):
    """A report PNG as an RGB array (through the one image reader), or None."""
    return image_io.load_image(path, max_side=4096).rgb if path else None


def gallery_items(report: Optional[dict]) -> list:
    """[(strip as RGB array, caption)] in the report's order (gains, then losses)."""
    if not report:
        return []
    items = []
    for e in report['gallery']:
        delta = e['miou_ssa'] - e['miou_baseline']
        caption = (f'{"gain" if e["kind"] == "gain" else "loss"} {e["rank"]}: {e["name"]}, '
                   f'mIoU {e["miou_baseline"]:.1f} -> {e["miou_ssa"]:.1f} ({delta:+.1f})')
        items.append((_picture(e['file']), caption))
    return items


def confusion_choices(report: Optional[dict]) -> List[tuple]:
    """[(label, index)] of the confusion changes that have drill-down images."""
    if not report:
        return []
    return [(f'{c["true"]} as {c["pred"]} ({c["change"]:+d} px)', i)
            for i, c in enumerate(report['confusion_changes']) if c.get('images')]


def drill_items(report: Optional[dict], choice: Optional[int]) -> list:
    """[(strip as RGB array, caption)] of confusion change ``choice``'s images."""
    if not report or choice is None or not 0 <= int(choice) < len(report['confusion_changes']):
        return []
    change = report['confusion_changes'][int(choice)]
    return [(_picture(e['file']), f'{e["name"]}: {change["true"]} as {change["pred"]} '
             f'{e["baseline"]} -> {e["ssa"]} px') for e in change.get('images') or []
            if e.get('file')]


def open_drill_image(report: Optional[dict], choice: Optional[int], index: Optional[int]):
    """(image path, label path) of image ``index`` of confusion change ``choice``, copied
    like :func:`open_gallery_image`."""
    changes = (report or {}).get('confusion_changes') or []
    if choice is None or not 0 <= int(choice) < len(changes):
        raise gr.Error('Choose a confusion first.', title='No confusion chosen')
    images = changes[int(choice)].get('images') or []
    if index is None or not 0 <= int(index) < len(images):
        raise gr.Error('Choose one of its images.', title='No image chosen')
    return _copy_inputs(images[int(index)])


def open_gallery_image(report: Optional[dict], index: Optional[int]):
    """(image path, label path) of gallery entry ``index``, copied into Gradio's temporary
    folder for the Segment tab's inputs. Only entries of the report loaded at start-up."""
    if not report or index is None or not 0 <= int(index) < len(report['gallery']):
        raise gr.Error('Choose an image of the gallery.', title='No gallery image')
    return _copy_inputs(report['gallery'][int(index)])


def _copy_inputs(entry: dict):
    """The entry's image and label, copied into Gradio's temporary folder."""
    if not entry.get('image'):
        raise gr.Error('This report does not hold the gallery images themselves.',
                       title='Image not in the report')
    folder = Path(gr.utils.get_upload_folder()) / 'ssa_seg_app' / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    image = shutil.copyfile(entry['image'], folder / Path(entry['image']).name)
    label = shutil.copyfile(entry['label'], folder / Path(entry['label']).name) \
        if entry.get('label') else None
    return str(image), (str(label) if label else None)


def _then_segment(event, then: tuple) -> None:
    # A step with no Python function ends its chain (Gradio runs nothing after it): the tab
    # switch hangs off the event on its own, the runs on another branch.
    event.success(None, None, None, js=SHOW_SEGMENT_TAB)
    for step in then:
        event = event.success(**step)


@dataclass
class Drilldown:
    """The drill-down widgets: the confusion choice, and a slot per image (its strip and the
    button that opens it), filled with the chosen confusion's images."""
    choice: gr.Dropdown
    images: List[gr.Image]
    buttons: List[gr.Button]


@dataclass
class DatasetTab:
    report: Optional[dict]
    buttons: List[gr.Button]        # one per gallery row: open that image in the Segment tab
    drilldown: Optional[Drilldown] = None

    def connect(self, image_in, label_in, *then: dict) -> None:
        """A gallery row's button fills the Segment tab's inputs, shows that tab, then runs
        the events ``then`` (the Segment tab's own, as keyword dicts of ``.success``)."""
        report = self.report
        for index, button in enumerate(self.buttons):
            event = button.click(lambda i=index: open_gallery_image(report, i), None,
                                 [image_in, label_in], api_visibility='private', queue=False)
            _then_segment(event, then)

    def connect_drilldown(self, image_in, label_in, *then: dict) -> None:
        """A drill-down slot's button does what a gallery row's does (:meth:`connect`) for
        that image of the chosen confusion."""
        if self.drilldown is None:
            return
        report, drill = self.report, self.drilldown
        for index, button in enumerate(drill.buttons):
            event = button.click(lambda c, i=index: open_drill_image(report, c, i),
                                 drill.choice, [image_in, label_in], api_visibility='private',
                                 queue=False)
            _then_segment(event, then)


def build_dataset_tab(report: Optional[dict]) -> DatasetTab:
    """The tab, inside the Blocks being built (call it inside ``gr.Blocks``)."""
    with gr.Tab('Dataset', elem_id='dataset-tab'):
        gr.Markdown(summary_markdown(report), elem_id='dataset-summary')
        if not report:
            return DatasetTab(None, [])
        charts = report.get('charts') or {}
        with gr.Row():
            gr.Image(_picture(charts.get('per_class_delta')), format='png', interactive=False,
                     label='Per-class IoU and boundary-IoU deltas (SSA-Seg - baseline)',
                     show_label=False, elem_id='dataset-delta-chart')
            gr.HTML(confusion_chart_html(report), label='Confusion difference',
                    show_label=False, container=True, elem_id='dataset-confusion-chart')
        gr.Dataframe(class_rows(report), headers=CLASS_HEADERS, interactive=False,
                     label='Per class (percent; boundary IoU = BIoU)', elem_id='dataset-classes')
        if charts.get('error_breakdown'):
            gr.Image(_picture(charts['error_breakdown']), format='png', interactive=False,
                     label='Boundary band vs interior', show_label=False,
                     elem_id='dataset-breakdown-chart')
        table = gr.Dataframe(confusion_rows(report), headers=CONFUSION_HEADERS,
                             interactive=False, label='Confusions SSA-Seg changed most (pixels; '
                             'negative = fewer); choose a row to see its images',
                             elem_id='dataset-confusions')
        drilldown = build_drilldown(report, table)
        gr.Markdown('**Gallery**: largest gains and losses of SSA-Seg (image | ground truth | '
                    'baseline | SSA-Seg | error map: green only SSA-Seg right, orange only the '
                    'baseline right, yellow both wrong).')
        buttons = []
        with gr.Column(elem_id='dataset-gallery'):
            for index, (picture, caption) in enumerate(gallery_items(report)):
                gr.Image(picture, format='png', interactive=False, label=caption,
                         show_label=True, elem_id=f'dataset-row-{index}')
                buttons.append(gr.Button(f'Open {report["gallery"][index]["name"]} in the '
                                         'Segment tab', size='sm',
                                         elem_id=f'dataset-open-{index}'))
    return DatasetTab(report, buttons, drilldown)


def drill_slots(report: dict, choice: Optional[int], slots: int) -> list:
    """Updates of the ``slots`` strips, then of their buttons, for confusion ``choice``."""
    items = drill_items(report, choice)
    names = [e['name'] for e in report['confusion_changes'][int(choice)].get('images') or []
             if e.get('file')] if items else []
    pictures = [gr.update(value=items[i][0], label=items[i][1], visible=True) if i < len(items)
                else gr.update(value=None, visible=False) for i in range(slots)]
    buttons = [gr.update(value=f'Open {names[i]} in the Segment tab', visible=True)
               if i < len(items) else gr.update(visible=False) for i in range(slots)]
    return pictures + buttons


def build_drilldown(report: dict, table: gr.Dataframe) -> Optional[Drilldown]:
    """The confusion choice and its images, under the confusion table (inside the tab)."""
    choices = confusion_choices(report)
    if not choices:
        return None
    slots = max(len(c.get('images') or []) for c in report['confusion_changes'])
    first = drill_slots(report, choices[0][1], slots)
    images, buttons = [], []
    with gr.Column(elem_id='dataset-drilldown'):
        choice = gr.Dropdown(choices, value=choices[0][1], label='Images of the confusion '
                             '(image | ground truth | baseline | SSA-Seg | error map)',
                             interactive=True, elem_id='dataset-drill-choice')
        for i in range(slots):
            images.append(gr.Image(format='png', interactive=False, show_label=True,
                                   elem_id=f'dataset-drill-row-{i}', **_props(first[i])))
            buttons.append(gr.Button(size='sm', elem_id=f'dataset-drill-open-{i}',
                                     **_props(first[slots + i])))
    choice.change(lambda c: drill_slots(report, c, slots), choice, images + buttons,
                  api_visibility='private', queue=False)
    valid = {i for _, i in choices}

    def row_choice(evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return row if row in valid else gr.skip()
    table.select(row_choice, None, choice, api_visibility='private', queue=False)
    return Drilldown(choice, images, buttons)


def _props(update: dict) -> dict:
    """A gr.update's values as constructor keywords (the first confusion's slots)."""
    return {k: v for k, v in update.items() if k != '__type__'}
