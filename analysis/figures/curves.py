"""Figure kind ``curves`` (paper Fig. 4): validation mIoU against training iterations,
baseline against SSA-Seg (and the ablation without distillation), from training logs.

Logs read (one JSON object per line, both formats, any number of files per model):

* mmengine's ``vis_data/scalars.json``: validation lines carry ``mIoU`` (percent) and
  ``step`` (the iteration); training lines carry ``time`` (seconds per iteration, averaged
  over the logging window) and ``step``;
* the reference's mmseg-0.x ``*.log.json``: lines with ``"mode": "val"`` carry ``iter`` and
  ``mIoU`` (a fraction, converted to percent); ``"mode": "train"`` lines carry ``time``.

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
from ._registry import FigureKind, register_figure
from .paper import new_figure

ROLE_STYLE = {'baseline': ('Baseline', style.FIXED, 'o'),
              'ssa': ('SSA-Seg', style.ADAPTED, 's'),
              'ablation': ('SSA-Seg w/o distillation', style.OKABE_ITO['sky_blue'], '^')}


@dataclass
class Curve:
    """Validation points (iteration, mIoU %) and the logged training time of one run."""
    points: List[Tuple[int, float]] = field(default_factory=list)
    train_seconds: Optional[float] = None
    max_iter: Optional[int] = None

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
    seconds = None
    if train:
        seconds, prev = 0.0, 0
        for step in sorted(train):
            seconds += train[step] * (step - prev)
            prev = step
    steps = list(val) + list(train)
    return Curve(points=sorted(val.items()), train_seconds=seconds,
                 max_iter=max(steps) if steps else None)


def merge(curves: Sequence[Curve]) -> Curve:
    """One curve from several logs of the same run (validation points of all; the first
    log that has training times gives the time)."""
    points: Dict[int, float] = {}
    seconds = max_iter = None
    for c in curves:
        points.update(dict(c.points))
        if seconds is None and c.train_seconds is not None:
            seconds = c.train_seconds
        if c.max_iter is not None:
            max_iter = max(max_iter or 0, c.max_iter)
    return Curve(sorted(points.items()), seconds, max_iter)


def first_reaching(points: Sequence[Tuple[int, float]], target: float) -> Optional[int]:
    """The first iteration whose mIoU is >= ``target`` (None if never)."""
    return next((step for step, value in points if value >= target), None)


@dataclass
class CurvesData:
    curves: Dict[str, Curve]                  # role -> curve
    models: Dict[str, str]
    baseline_final: Optional[float] = None
    ssa_reaches_at: Optional[int] = None      # first iteration SSA >= baseline's final mIoU
    schedule: Optional[int] = None            # the SSA run's last iteration
    time_ratio: Optional[float] = None        # SSA-Seg / baseline training time

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
        }


def curves_data(figure_set, **_) -> CurvesData:
    """Curves of every role of the set that has logs; numbers need baseline and SSA-Seg."""
    curves = {}
    for role in ROLE_STYLE:
        files = [p for p in figure_set.log_files(role) if Path(p).is_file()]
        if files:
            curves[role] = merge([read_log(p) for p in files])
    if 'baseline' not in curves or 'ssa' not in curves:
        raise ValueError('the curves figure needs training logs of the baseline and SSA-Seg '
                         '(manifest keys val_curve / train_log)')
    base, ssa = curves['baseline'], curves['ssa']
    data = CurvesData(curves=curves, models={r: figure_set.model_name(r) for r in curves},
                      baseline_final=base.final, schedule=ssa.max_iter)
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
            f'{verdict}.')


def curves_matplotlib(data: CurvesData):
    from matplotlib.lines import Line2D
    fig = new_figure(style.SINGLE_COLUMN, 2.3)
    ax = fig.subplots()
    handles = []
    for role, curve in data.curves.items():
        name, color, marker = ROLE_STYLE[role]
        xs, ys = zip(*curve.points) if curve.points else ((), ())
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
    for role, curve in data.curves.items():
        name, color, _ = ROLE_STYLE[role]
        xs, ys = zip(*curve.points) if curve.points else ((), ())
        fig.add_trace(go.Scatter(x=list(xs), y=list(ys), mode='lines+markers', name=name,
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
