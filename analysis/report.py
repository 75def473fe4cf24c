"""Every figure of the paper at once (``python -m analysis paper``, :func:`write_paper`).

Writes, for a pair of models (a zoo pair, default the demo pair, or ``--baseline CFG CKPT
--ssa CFG CKPT [--ablation CFG CKPT]``) and a set of labelled images (``--image-dir``,
``--label-dir``; default for the demo pair: its first 16 val images):

* ``fig1_tsne`` (t-SNE in the decision space, one image, baseline beside SSA-Seg),
  ``fig1_shift`` (margins and ranks on that image), ``fig3_relations`` (without / with
  distillation), ``fig4_curves``, ``fig6_offsets``, ``fig7_intraclass``, ``fig8_gradcam``,
  each as PDF and PNG;
* ``numbers.json``: every number the figures show, plus the decision-space statistics over
  the whole image set (per class: the baseline's margin of S in F and SSA-Seg's margin of
  its centre in F + Pf, and how often each is nearest its own class);
* ``report.html``: the figures with captions saying what is plotted, which claim of the
  paper it checks, and whether it holds on these numbers.

Figures whose models or logs the pair lacks (no ablation model, no training logs: models
given by path have none unless their checkpoint is in the manifest) are skipped and listed
in the report with the reason; the rest is drawn. Each model is extracted once per image and
shared by all figures.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from .figures import FIGURES, ROLES, export_paper_files

# (file stem, figure kind): the models each needs are the kind's ``roles``.
PAPER_FIGURES = (
    ('fig1_tsne', 'tsne'),
    ('fig1_shift', 'shift'),
    ('fig3_relations', 'distillation'),
    ('fig4_curves', 'curves'),
    ('fig6_offsets', 'offsets'),
    ('fig7_intraclass', 'intraclass'),
    ('fig8_gradcam', 'gradcam'),
)
FIG1_CLASS = 'door'        # the paper's Fig. 1/5 class, when the model has it


def decision_space_stats(figure_set) -> Dict:
    """Per class over the set's images (label masks, classes with >= 5 pixels): the
    baseline's margin of S over the next class in F, SSA-Seg's margin of its centre in
    F + Pf, and the share of images where each is nearest its own class (rank 1)."""
    from .shift import MIN_PIXELS, prototype_shift
    per_class: Dict[str, Dict[str, List[float]]] = {}
    for i in range(len(figure_set.images)):
        base = figure_set.extraction('baseline', i)
        ssa = figure_set.extraction('ssa', i)
        b_rows = {r.name: r for r in prototype_shift(
            base.feat, base.label, base.fixed_protos, class_names=base.class_names,
            min_pixels=MIN_PIXELS)}
        for r in prototype_shift(ssa.feat, ssa.label, ssa.fixed_protos, ssa.sem_protos,
                                 ssa.centers, ssa.pos_feat, class_names=ssa.class_names,
                                 min_pixels=MIN_PIXELS):
            b = b_rows.get(r.name)
            if b is None or r.margin_center is None or b.margin_fixed is None:
                continue
            entry = per_class.setdefault(r.name, {k: [] for k in (
                'baseline_margin', 'ssa_margin', 'baseline_rank1', 'ssa_rank1')})
            entry['baseline_margin'].append(b.margin_fixed)
            entry['ssa_margin'].append(r.margin_center)
            entry['baseline_rank1'].append(float(b.rank_fixed == 1))
            entry['ssa_rank1'].append(float(r.rank_center == 1))
    classes = {name: {'num_images': len(v['ssa_margin']),
                      **{k: float(np.mean(vals)) for k, vals in v.items()}}
               for name, v in per_class.items()}
    return {
        'classes': classes,
        'ssa_centre_always_nearest': all(c['ssa_rank1'] == 1.0 for c in classes.values()),
        'classes_where_ssa_margin_larger': sorted(
            n for n, c in classes.items() if c['ssa_margin'] > c['baseline_margin']),
        'num_classes': len(classes),
    }


def decision_caption(stats: Dict) -> str:
    cls = stats['classes']
    larger = stats['classes_where_ssa_margin_larger']
    always = stats['ssa_centre_always_nearest']
    worst = min(cls, key=lambda n: cls[n]['ssa_rank1']) if cls else None
    rank = ('the SSA centre is the nearest to its own class centroid for every class in '
            'every image' if always else
            f'the SSA centre is not always nearest its own class (lowest: {worst}, rank 1 in '
            f'{cls[worst]["ssa_rank1"]:.0%} of images)')
    holds = always and len(larger) == len(cls)
    return (f'Over the image set: {rank}; its margin over the next class is larger than the '
            f'baseline\'s fixed prototype\'s (F against S) for {len(larger)} of {len(cls)} '
            f'classes. Claim (issue, section 1): {"holds" if holds else "holds only partly"}'
            ' here.')


def _fig1_image(figure_set) -> (int, Optional[int]):
    """The image where the Fig. 1 class (door, else the largest class) has most pixels."""
    first = figure_set.extraction('ssa', 0)
    names = [n.lower() for n in first.class_names]
    k = names.index(FIG1_CLASS) if FIG1_CLASS in names else None
    best, best_count = 0, -1
    for i in range(len(figure_set.images)):
        label = figure_set.extraction('ssa', i).label
        count = int((label == k).sum()) if k is not None else int((label != 255).sum())
        if count > best_count:
            best, best_count = i, count
    return best, k


def _compute(kind, figure_set, fig1, options: dict):
    """The data of ``kind`` (with ``options``): a set-level kind on the whole set, a
    per-image kind on the Fig. 1 image with its highlighted class set to the Fig. 1 class."""
    if kind.level == 'set':
        return kind.data(figure_set, **options)
    index, k = fig1
    ssa = figure_set.extraction('ssa', index)
    base = figure_set.extraction('baseline', index) if kind.uses_baseline else None
    focus = kind.focus_option()
    return kind.data(ssa, base, **options, **({focus.name: k} if focus is not None else {}))


def paper_steps(figure_set) -> int:
    """How many times :func:`write_paper` calls ``step`` (for a progress bar): one per image
    and model, one per figure, one for the statistics."""
    roles = [r for r in ROLES if figure_set.has(r)]
    return len(figure_set.images) * len(roles) + len(PAPER_FIGURES) + 1


def write_paper(figure_set, out, step: Optional[Callable[[str], None]] = None,
                column: Optional[str] = None,
                options: Optional[Dict[str, dict]] = None) -> List[Path]:
    """Every paper figure of ``figure_set`` as PDF and PNG (at ``column`` width, ``'one'``
    or ``'two'``; None: each figure's natural width), numbers.json and report.html into
    ``out``; ``options``: kind -> keyword options of its data function. A figure whose
    models the set lacks, or whose data cannot be made (no training logs, no labelled
    images), is listed under "Not drawn" and the rest goes on.
    ``step(text)``: called once per extraction, figure and the statistics (see
    :func:`paper_steps`). Returns the paths of numbers.json and report.html."""
    step = step or (lambda text: None)
    if not figure_set.images:
        raise ValueError('the paper figures need labelled images (--image-dir, --label-dir)')
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    roles = [r for r in ROLES if figure_set.has(r)]
    numbers: Dict = {'pair': figure_set.name,
                     'images': [str(p) for p, _ in figure_set.images],
                     'models': {r: {'name': figure_set.model_name(r),
                                    **dict(getattr(figure_set.specs.get(r), 'metrics', {}))}
                                for r in roles}}
    sections, skipped = [], []
    fig1 = _fig1_image(figure_set)
    for stem, kind_name in PAPER_FIGURES:
        kind = FIGURES[kind_name]
        missing = [r for r in kind.roles if not figure_set.has(r)]
        try:
            if missing:
                raise ValueError(f'the pair has no {" and no ".join(missing)} model (give '
                                 f'{" ".join("--" + r for r in missing)} CONFIG CHECKPOINT, '
                                 'or a zoo pair that has one)')
            data = _compute(kind, figure_set, fig1, (options or {}).get(kind_name, {}))
        except (ValueError, FileNotFoundError) as err:
            skipped.append((stem, str(err)))
            step(stem)
            continue
        export_paper_files(data, [out / f'{stem}.{fmt}' for fmt in ('pdf', 'png')], column)
        to_numbers = kind.to_json or kind.summary
        if to_numbers is not None:
            numbers[stem] = to_numbers(data)
        sections.append((stem, kind.title, kind.caption(data) if kind.caption else ''))
        step(stem)
    stats = decision_space_stats(figure_set)
    numbers['decision_space'] = stats
    step('decision-space statistics')
    seconds = time.perf_counter() - start
    numbers['seconds'] = round(seconds, 1)
    (out / 'numbers.json').write_text(json.dumps(numbers, indent=2, default=_jsonable) + '\n')
    (out / 'report.html').write_text(_html(numbers, sections, skipped, decision_caption(stats),
                                           seconds))
    return [out / 'numbers.json', out / 'report.html']


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _html(numbers, sections, skipped, decision, seconds) -> str:
    esc = html.escape
    models = ''.join(
        f'<li>{esc(role)}: {esc(str(m["name"]))}'
        + (f', val mIoU {m["val_mIoU"]:.2f}' if 'val_mIoU' in m else '') + '</li>'
        for role, m in numbers['models'].items())
    body = [f'<h1>SSA-Seg paper figures: {esc(numbers["pair"])}</h1>',
            f'<p>{len(numbers["images"])} labelled images; made in {seconds:.0f} s.</p>',
            f'<ul>{models}</ul>',
            '<h2>Decision space over the image set</h2>', f'<p>{esc(decision)}</p>']
    for stem, title, caption in sections:
        body += [f'<h2 id="{stem}">{esc(title)}</h2>',
                 f'<figure><img src="{stem}.png" alt="{esc(title)}" style="max-width:100%">',
                 f'<figcaption>{esc(caption)} <a href="{stem}.pdf">PDF</a></figcaption>'
                 '</figure>']
    if skipped:
        body.append('<h2>Not drawn</h2><ul>' + ''.join(
            f'<li>{esc(stem)}: {esc(why)}</li>' for stem, why in skipped) + '</ul>')
    body.append('<p>Every number: <a href="numbers.json">numbers.json</a>.</p>')
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>SSA-Seg paper figures'
            '</title><style>body{font-family:sans-serif;max-width:60em;margin:auto;'
            'padding:1em}figcaption{font-size:90%;color:#333;margin:.5em 0 2em}</style>'
            '</head><body>' + '\n'.join(body) + '</body></html>\n')
