"""Figure kind ``curves`` (paper Fig. 4): validation mIoU against training iterations,
baseline against SSA-Seg (and the ablation without distillation), from training logs.

Logs read (one JSON object per line, both formats, any number of files per model):

* mmengine's ``vis_data/scalars.json``: validation lines carry ``mIoU`` (percent) and
  ``step`` (the iteration); training lines carry ``time`` (seconds per iteration, averaged
  over the logging window) and ``step``;
* the reference's mmseg-0.x ``*.log.json``: lines with ``"mode": "val"`` carry ``iter`` and
  ``mIoU`` (a fraction, converted to percent); ``"mode": "train"`` lines carry ``time``.

Several runs per model (one per training seed: the manifest's ``seeds``, or
``FigureSet.logs``), each from one or more logs (a run resumed from a checkpoint writes a
new ``scalars.json`` per session: their points and iteration times are joined, the later
log winning where both have an iteration): the figure draws each model's mean curve with
the min-max band over its runs, and the numbers add, per run and as mean +- std, the
iteration at which SSA-Seg reaches the baseline's final mIoU (:mod:`analysis.seed_runs`).
The single-run numbers below are those of each model's first run (seed 0, the shipped one).

Numbers: each model's final mIoU, the first iteration at which SSA-Seg reaches the
baseline's final mIoU (and that as a fraction of the schedule), and the training-time
ratio SSA-Seg / baseline from the logged iteration times (sum over logged points of
``time`` x the iterations since the previous point).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .. import style
from ..seed_runs import band, first_reaching, format_mean_std, reach_per_run
from ._registry import FigureKind, register_figure
from .paper import column_width, new_figure

ROLE_STYLE = {'baseline': ('Baseline', style.FIXED, 'o'),
              'ssa': ('SSA-Seg', style.ADAPTED, 's'),
              'ablation': ('SSA-Seg w/o distillation', style.OKABE_ITO['sky_blue'], '^')}


@dataclass
class Curve:
    """Validation points (iteration, mIoU %) and the logged training time of one run."""
    points: List[Tuple[int, float]] = field(default_factory=list)
    train_seconds: Optional[float] = None
    max_iter: Optional[int] = None
    train_times: Dict[int, float] = field(default_factory=dict)   # iteration -> s / iteration

    @property
    def final(self) -> Optional[float]:
        return self.points[-1][1] if self.points else None


def read_log(path) -> Curve:
    """Validation points and training time from one mmengine ``scalars.json`` or mmseg-0.x
    ``*.log.json`` (format detected per line)."""
    val: Dict[int, float] = {}
    train: Dict[int, float] = {}
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(rec, dict):
                continue
            mode = rec.get('mode')
            if mode is not None:                      # mmseg 0.x
                step = rec.get('iter')
                if mode == 'val' and 'mIoU' in rec and step is not None:
                    value = float(rec['mIoU'])
                    val[int(step)] = value * 100 if value <= 1.0 else value
                elif mode == 'train' and 'time' in rec and step is not None:
                    train[int(step)] = float(rec['time'])
            elif 'step' in rec:                        # mmengine
                if 'mIoU' in rec:
                    val[int(rec['step'])] = float(rec['mIoU'])
                elif 'time' in rec and 'loss' in rec:
                    train[int(rec['step'])] = float(rec['time'])
    steps = list(val) + list(train)
    return Curve(points=sorted(val.items()), train_seconds=_seconds(train),
                 max_iter=max(steps) if steps else None, train_times=train)


def _seconds(train: Dict[int, float]) -> Optional[float]:
    """Training time from logged (iteration, seconds per iteration) points: each time counts
    for the iterations since the previous logged point."""
    if not train:
        return None
    seconds, prev = 0.0, 0
    for step in sorted(train):
        seconds += train[step] * (step - prev)
        prev = step
    return seconds


def merge(curves: Sequence[Curve]) -> Curve:
    """One curve from several logs of the same run: the validation points and the logged
    iteration times of all (a resumed run's sessions join; a later log wins where two have
    the same iteration)."""
    points: Dict[int, float] = {}
    train: Dict[int, float] = {}
    max_iter = None
    for c in curves:
        points.update(dict(c.points))
        train.update(c.train_times)
        if c.max_iter is not None:
            max_iter = max(max_iter or 0, c.max_iter)
    seconds = _seconds(train)
    if seconds is None:        # curves built without their iteration times
        seconds = next((c.train_seconds for c in curves if c.train_seconds is not None), None)
    return Curve(sorted(points.items()), seconds, max_iter, train)


@dataclass
class CurvesData:
    curves: Dict[str, Curve]                  # role -> curve
    models: Dict[str, str]
    baseline_final: Optional[float] = None
    ssa_reaches_at: Optional[int] = None      # first iteration SSA >= baseline's final mIoU
    schedule: Optional[int] = None            # the SSA run's last iteration
    time_ratio: Optional[float] = None        # SSA-Seg / baseline training time
    runs: Dict[str, List[Tuple[str, Curve]]] = field(default_factory=dict)  # role -> runs
    seeds: Optional[dict] = None              # analysis.seed_runs.reach_per_run, > 1 run

    @property
    def several(self) -> bool:
        return any(len(r) > 1 for r in self.runs.values())

    @property
    def reach_fraction(self) -> Optional[float]:
        if self.ssa_reaches_at is None or not self.schedule:
            return None
        return self.ssa_reaches_at / self.schedule

    def to_json_dict(self) -> dict:
        return {
            'models': self.models,
            'final_mIoU': {r: c.final for r, c in self.curves.items()},
            'train_seconds': {r: c.train_seconds for r, c in self.curves.items()},
            'points': {r: c.points for r, c in self.curves.items()},
            'baseline_final_mIoU': self.baseline_final,
            'ssa_reaches_baseline_final_at': self.ssa_reaches_at,
            'schedule_iters': self.schedule,
            'reach_fraction': self.reach_fraction,
            'time_ratio_ssa_over_baseline': self.time_ratio,
            'runs': {r: [dict(run=label, final_mIoU=c.final, points=c.points)
                         for label, c in runs] for r, runs in self.runs.items()},
            'seeds': self.seeds,
        }


def curves_data(figure_set, **_) -> CurvesData:
    """Curves of every role of the set that has logs; numbers need baseline and SSA-Seg."""
    runs: Dict[str, List[Tuple[str, Curve]]] = {}
    for role in ROLE_STYLE:
        for label, paths in figure_set.log_runs(role):
            files = [p for p in paths if Path(p).is_file()]
            if files:
                runs.setdefault(role, []).append((label, merge([read_log(p) for p in files])))
    curves = {role: role_runs[0][1] for role, role_runs in runs.items()}
    if 'baseline' not in curves or 'ssa' not in curves:
        raise ValueError('the curves figure needs training logs of the baseline and SSA-Seg '
                         '(manifest keys val_curve / train_log)')
    base, ssa = curves['baseline'], curves['ssa']
    data = CurvesData(curves=curves, models={r: figure_set.model_name(r) for r in curves},
                      baseline_final=base.final, schedule=ssa.max_iter, runs=runs)
    if data.several:
        data.seeds = reach_per_run([(label, c.points) for label, c in runs['baseline']],
                                   [(label, c.points) for label, c in runs['ssa']])
    if base.final is not None:
        data.ssa_reaches_at = first_reaching(ssa.points, base.final)
    if base.train_seconds and ssa.train_seconds:
        data.time_ratio = ssa.train_seconds / base.train_seconds
    return data


def caption(data: CurvesData) -> str:
    finals = ', '.join(f'{ROLE_STYLE[r][0]} {c.final:.2f}' for r, c in data.curves.items()
                       if c.final is not None)
    if data.ssa_reaches_at is None:
        reach = 'SSA-Seg never reaches the baseline\'s final mIoU'
    else:
        reach = (f'SSA-Seg first reaches the baseline\'s final mIoU '
                 f'({data.baseline_final:.2f}) at iteration {data.ssa_reaches_at} of '
                 f'{data.schedule} ({data.reach_fraction:.0%} of the schedule)')
    ratio = ('training-time ratio SSA-Seg / baseline '
             f'{data.time_ratio:.2f}x (wall-clock iteration times from the logs: comparable '
             'only when both runs had the machine to the same extent)' if data.time_ratio
             else 'no training times logged')
    fraction = data.reach_fraction
    if fraction is not None and fraction <= 0.4:
        verdict = 'holds here'
    elif fraction is not None and fraction < 1.0:
        verdict = 'holds only partly here (faster, but not in a third of the iterations)'
    else:
        verdict = 'does not hold here'
    return (f'Validation mIoU against training iterations (final: {finals}). Paper (Fig. 4): '
            'SSA-Seg reaches the baseline\'s final mIoU in about a third of the iterations, at '
            f'about 1.1x the training time. Here: {reach}; {ratio}. The convergence claim '
            f'{verdict}.' + seeds_caption(data))


def seeds_caption(data: CurvesData) -> str:
    """' Over N runs per model: ...' (mean line, min-max band), or '' for one run each."""
    if not data.seeds:
        return ''
    seeds = data.seeds
    per_run = '; '.join(f'{r["run"] or "run"}: ' + (
        f'iteration {r["ssa_reaches_at"]}' if r['ssa_reaches_at'] is not None else 'never')
        + f' (baseline {r["baseline_final"]:.2f}, SSA-Seg {r["ssa_final"]:.2f})'
        for r in seeds['runs'])
    counts = ', '.join(f'{len(v)} {ROLE_STYLE[r][0]}' for r, v in data.runs.items())
    return (f' Over several runs ({counts}; lines: mean, bands: min-max): final mIoU baseline '
            f'{format_mean_std(seeds["baseline_final"])}, SSA-Seg '
            f'{format_mean_std(seeds["ssa_final"])}, gain {format_mean_std(seeds["gain"])}; '
            'SSA-Seg reaches its paired baseline run\'s final mIoU at iteration '
            f'{format_mean_std(seeds["reaches_at"], 0)} ({per_run}).')


def _role_lines(data: CurvesData, role: str):
    """(xs, ys, band or None) of a role: its one curve, or its runs' mean and min-max."""
    role_runs = data.runs.get(role) or [('', data.curves[role])]
    if len(role_runs) == 1:
        points = role_runs[0][1].points
        xs, ys = zip(*points) if points else ((), ())
        return list(xs), list(ys), None
    rows = band([c.points for _, c in role_runs])
    if not rows:
        return [], [], None
    steps, mean, low, high = (list(v) for v in zip(*rows))
    return steps, mean, (low, high)


def curves_matplotlib(data: CurvesData, column=None):
    """mIoU against iterations, one line per model (natural width: one column)."""
    from matplotlib.lines import Line2D
    width = column_width(column, 'one')
    fig = new_figure(width, 2.3 if width <= style.SINGLE_COLUMN else 2.8)
    ax = fig.subplots()
    handles = []
    for role in data.curves:
        name, color, marker = ROLE_STYLE[role]
        xs, ys, spread = _role_lines(data, role)
        if spread is not None:
            ax.fill_between(xs, *spread, color=color, alpha=0.2, lw=0)
            name += f' (mean of {len(data.runs[role])} runs)'
        ax.plot(xs, ys, color=color, marker=marker, ms=2.5, lw=1.0)
        handles.append(Line2D([], [], color=color, marker=marker, ms=3, label=name))
    if data.baseline_final is not None:
        ax.axhline(data.baseline_final, color=style.FIXED, lw=0.5, ls=':')
    if data.ssa_reaches_at is not None:
        ax.axvline(data.ssa_reaches_at, color=style.ADAPTED, lw=0.5, ls=':')
    ax.set_xlabel('iteration')
    ax.set_ylabel('val mIoU (%)')
    ax.grid(lw=0.3, color='#dddddd')
    for side in ('top', 'right'):
        ax.spines[side].set_visible(False)
    ax.legend(handles=handles, frameon=False, loc='lower right')
    return fig


def curves_plotly(data: CurvesData):
    import plotly.graph_objects as go
    fig = go.Figure()
    for role in data.curves:
        name, color, _ = ROLE_STYLE[role]
        xs, ys, spread = _role_lines(data, role)
        if spread is not None:      # the min-max band: max forward, min backward, filled
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=list(spread[1]) + list(spread[0])[::-1],
                                     fill='toself', fillcolor=color, opacity=0.2,
                                     line=dict(width=0), hoverinfo='skip', showlegend=False))
            name += f' (mean of {len(data.runs[role])} runs)'
        fig.add_trace(go.Scatter(x=xs, y=ys, mode='lines+markers', name=name,
                                 line=dict(color=color)))
    if data.baseline_final is not None:
        fig.add_hline(y=data.baseline_final, line=dict(color=style.FIXED, dash='dot', width=1))
    if data.ssa_reaches_at is not None:
        fig.add_vline(x=data.ssa_reaches_at, line=dict(color=style.ADAPTED, dash='dot',
                                                       width=1))
    fig.update_layout(template='plotly_white', height=380, autosize=True,
                      xaxis_title='iteration', yaxis_title='val mIoU (%)',
                      title=dict(text='Validation mIoU during training', x=0.5))
    return fig


KIND = register_figure(FigureKind(
    name='curves', title='Validation mIoU against iterations (Fig. 4)', data=curves_data,
    data_type=CurvesData, plotly=curves_plotly, matplotlib=curves_matplotlib,
    to_json=CurvesData.to_json_dict, level='set', roles=('baseline', 'ssa'), caption=caption))
