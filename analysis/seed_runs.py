"""Several training runs per model (e.g. one per seed): the mean curve with its min-max band,
mean +- std of a number over runs, and the per-run "reaches the baseline's final mIoU".

A run's validation curve is a list of (iteration, mIoU %) points. Runs are paired by label
(``seed 1`` of SSA-Seg with ``seed 1`` of the baseline), else by position.
std is the sample standard deviation (ddof = 1); with one run it is None.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

Points = Sequence[Tuple[int, float]]


def mean_std(values: Sequence[Optional[float]]) -> Dict[str, Optional[float]]:
    """``{mean, std, n}`` of the values that are not None (std: ddof = 1, None for n < 2)."""
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if not n:
        return dict(mean=None, std=None, n=0)
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return dict(mean=mean, std=std, n=n)


def band(runs: Sequence[Points]) -> List[Tuple[int, float, float, float]]:
    """(iteration, mean, min, max) at the iterations every run has, in order."""
    tables = [dict(points) for points in runs if points]
    if not tables:
        return []
    common = sorted(set.intersection(*(set(t) for t in tables)))
    return [(step, sum(t[step] for t in tables) / len(tables),
             min(t[step] for t in tables), max(t[step] for t in tables)) for step in common]


def pair_runs(baseline: Sequence[str], ssa: Sequence[str]) -> List[Tuple[int, int]]:
    """(baseline run, SSA-Seg run) index pairs: by equal labels when every SSA-Seg label has
    a baseline run of that label, else by position (as many as the shorter list)."""
    if ssa and all(label in baseline for label in ssa):
        return [(list(baseline).index(label), j) for j, label in enumerate(ssa)]
    return [(i, i) for i in range(min(len(baseline), len(ssa)))]


def first_reaching(points: Points, target: float) -> Optional[int]:
    """The first iteration whose mIoU is >= ``target`` (None if never)."""
    return next((step for step, value in points if value >= target), None)


def reach_per_run(baseline: Sequence[Tuple[str, Points]], ssa: Sequence[Tuple[str, Points]]
                  ) -> dict:
    """Per paired run: the baseline run's final mIoU and the first iteration at which the
    SSA-Seg run reaches it; and mean +- std of those iterations (over the runs that reach it)
    and of both models' final mIoU and of the gain (SSA-Seg final - baseline final)."""
    pairs = pair_runs([b[0] for b in baseline], [s[0] for s in ssa])
    rows = []
    for i, j in pairs:
        (label, base_points), (_, ssa_points) = baseline[i], ssa[j]
        if not base_points or not ssa_points:
            continue
        target = base_points[-1][1]
        rows.append(dict(run=label, baseline_final=target, ssa_final=ssa_points[-1][1],
                         ssa_reaches_at=first_reaching(ssa_points, target)))
    return dict(
        runs=rows,
        reaches_at=mean_std([r['ssa_reaches_at'] for r in rows]),
        never_reached=sum(r['ssa_reaches_at'] is None for r in rows),
        baseline_final=mean_std([p[-1][1] for _, p in baseline if p]),
        ssa_final=mean_std([p[-1][1] for _, p in ssa if p]),
        gain=mean_std([r['ssa_final'] - r['baseline_final'] for r in rows]))


def format_mean_std(stats: Dict[str, Optional[float]], digits: int = 2) -> str:
    """'75.10 +- 0.45 (n = 3)', '75.10 (n = 1)' or 'n/a'."""
    if stats['mean'] is None:
        return 'n/a'
    spread = f' +- {stats["std"]:.{digits}f}' if stats['std'] is not None else ''
    return f'{stats["mean"]:.{digits}f}{spread} (n = {stats["n"]})'
