"""Several training runs per model (analysis.seed_runs and the ``curves`` figure): mean +- std,
the min-max band and "reaches the baseline's final mIoU" per run, counted by hand; a run
resumed from a checkpoint (two mmengine scalars.json) and an mmseg 0.x log.json as runs."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from analysis.figures.curves import caption, curves_data, curves_matplotlib, curves_plotly
from analysis.figureset import FigureSet
from analysis.seed_runs import band, format_mean_std, mean_std, pair_runs, reach_per_run

REPO = Path(__file__).resolve().parents[2]


def test_mean_std_band_and_pairing_by_hand():
    stats = mean_std([1.0, 2.0, None, 4.0])
    assert stats['n'] == 3 and stats['mean'] == pytest.approx(7 / 3)
    # sample std: deviations -4/3, -1/3, 5/3 -> squares 16/9 + 1/9 + 25/9 = 42/9, / 2
    assert stats['std'] == pytest.approx(math.sqrt(21 / 9))
    assert mean_std([5.0]) == dict(mean=5.0, std=None, n=1)
    assert mean_std([None]) == dict(mean=None, std=None, n=0)
    assert format_mean_std(dict(mean=75.1, std=0.45, n=3)) == '75.10 +- 0.45 (n = 3)'
    assert format_mean_std(dict(mean=75.1, std=None, n=1)) == '75.10 (n = 1)'
    rows = band([[(100, 10.0), (200, 20.0), (300, 30.0)], [(100, 14.0), (200, 18.0)]])
    assert rows == [(100, 12.0, 10.0, 14.0), (200, 19.0, 18.0, 20.0)]   # common iterations
    assert pair_runs(['seed 0', 'seed 1'], ['seed 1', 'seed 0']) == [(1, 0), (0, 1)]
    assert pair_runs(['a', 'b', 'c'], ['x', 'y']) == [(0, 0), (1, 1)]


def test_reach_per_run_by_hand():
    base = [('seed 0', [(100, 40.0), (200, 50.0)]), ('seed 1', [(100, 42.0), (200, 54.0)])]
    ssa = [('seed 0', [(100, 51.0), (200, 60.0)]), ('seed 1', [(100, 50.0), (200, 53.0)])]
    got = reach_per_run(base, ssa)
    # seed 0: target 50, reached at 100; seed 1: target 54, never (53 at the end)
    assert [(r['run'], r['ssa_reaches_at']) for r in got['runs']] == [('seed 0', 100),
                                                                     ('seed 1', None)]
    assert got['never_reached'] == 1 and got['reaches_at'] == dict(mean=100.0, std=None, n=1)
    assert got['gain']['mean'] == pytest.approx((10 - 1) / 2)
    assert got['gain']['std'] == pytest.approx(math.sqrt(2 * 5.5 ** 2))
    assert got['baseline_final']['mean'] == pytest.approx(52.0)


def write_lines(path: Path, records) -> Path:
    path.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return path


def test_curves_overlay_runs_including_a_resumed_one(tmp_path):
    # baseline seed 0: one mmengine scalars.json; seed 1: resumed at 200 (two sessions, the
    # first logged one iteration window past the checkpoint, which the second redoes)
    b0 = write_lines(tmp_path / 'b0.json', [
        {'loss': 1, 'time': 0.5, 'step': 100}, {'mIoU': 40.0, 'step': 100},
        {'loss': 1, 'time': 0.5, 'step': 200}, {'mIoU': 50.0, 'step': 200},
        {'loss': 1, 'time': 0.5, 'step': 300}, {'mIoU': 52.0, 'step': 300}])
    b1a = write_lines(tmp_path / 'b1a.json', [
        {'loss': 1, 'time': 0.4, 'step': 100}, {'mIoU': 42.0, 'step': 100},
        {'loss': 1, 'time': 0.4, 'step': 200}, {'mIoU': 49.0, 'step': 200},
        {'loss': 1, 'time': 9.9, 'step': 250}])
    b1b = write_lines(tmp_path / 'b1b.json', [
        {'loss': 1, 'time': 0.6, 'step': 250}, {'loss': 1, 'time': 0.6, 'step': 300},
        {'mIoU': 56.0, 'step': 300}])
    # SSA-Seg: seed 0 as mmseg 0.x log.json (fractions), seed 1 as mmengine
    s0 = write_lines(tmp_path / 's0.log.json', [
        {'env_info': 'x'},
        {'mode': 'train', 'iter': 100, 'time': 1.0}, {'mode': 'val', 'iter': 100, 'mIoU': 0.45},
        {'mode': 'train', 'iter': 200, 'time': 1.0}, {'mode': 'val', 'iter': 200, 'mIoU': 0.53},
        {'mode': 'train', 'iter': 300, 'time': 1.0}, {'mode': 'val', 'iter': 300, 'mIoU': 0.6}])
    s1 = write_lines(tmp_path / 's1.json', [
        {'mIoU': 50.0, 'step': 100}, {'mIoU': 57.0, 'step': 200}, {'mIoU': 61.0, 'step': 300}])
    fs = FigureSet(logs={'baseline': {'seed 0': [b0], 'seed 1': [b1a, b1b]},
                         'ssa': {'seed 0': [s0], 'seed 1': [s1]}})
    data = curves_data(fs)
    resumed = data.runs['baseline'][1][1]
    assert resumed.points == [(100, 42.0), (200, 49.0), (300, 56.0)]
    # 100 x 0.4 + 100 x 0.4 + 50 x 0.6 (the second session's 250) + 50 x 0.6
    assert resumed.train_seconds == pytest.approx(140.0)
    # the single-run numbers stay those of the first run (seed 0)
    assert data.baseline_final == 52.0 and data.ssa_reaches_at == 200
    seeds = data.seeds
    # seed 0: 52 first reached at 200 (53); seed 1: 56 first reached at 200 (57)
    assert [(r['run'], r['ssa_reaches_at']) for r in seeds['runs']] == [('seed 0', 200),
                                                                       ('seed 1', 200)]
    assert seeds['reaches_at'] == dict(mean=200.0, std=0.0, n=2)
    assert seeds['gain']['mean'] == pytest.approx(((60 - 52) + (61 - 56)) / 2)
    js = data.to_json_dict()
    assert [r['run'] for r in js['runs']['ssa']] == ['seed 0', 'seed 1']
    assert js['runs']['ssa'][0]['final_mIoU'] == pytest.approx(60.0)
    text = caption(data)
    assert 'iteration 200 +- 0 (n = 2)' in text and 'seed 1: iteration 200' in text
    fig = curves_matplotlib(data)
    assert len(fig.axes[0].collections) == 2                   # one min-max band per model
    baseline_line = fig.axes[0].lines[0]
    assert list(baseline_line.get_ydata()) == [41.0, 49.5, 54.0]   # the mean of the runs
    traces = curves_plotly(data).data
    assert sum(t.fill == 'toself' for t in traces) == 2


def test_manifest_seeds_are_the_runs(tmp_path):
    class Spec:
        name = 'm'
        checkpoint = str(tmp_path / 'checkpoints' / 'm.pth')
        extra = {'val_curve': 'logs/m.json', 'train_log': 'logs/m_scalars.json',
                 'seeds': [{'seed': 0, 'val_curve': 'logs/m.json'},
                           {'seed': 1, 'val_curve': 'logs/seed1/m.json',
                            'train_log': ['logs/seed1/s.json', 'logs/seed1/resumed.json']}]}
    fs = FigureSet(specs={'baseline': Spec()})
    runs = fs.log_runs('baseline')
    assert [label for label, _ in runs] == ['seed 0', 'seed 1']
    assert runs[1][1] == [tmp_path / 'logs/seed1/m.json', tmp_path / 'logs/seed1/s.json',
                          tmp_path / 'logs/seed1/resumed.json']
    assert fs.log_files('baseline') == [tmp_path / 'logs/m.json']
    Spec.extra = {k: v for k, v in Spec.extra.items() if k != 'seeds'}
    assert fs.log_runs('baseline') == [('', [tmp_path / 'logs/m.json',
                                             tmp_path / 'logs/m_scalars.json'])]
    assert FigureSet(logs={'ssa': [[tmp_path / 'a'], [tmp_path / 'b']]}).log_runs('ssa') == [
        ('run 1', [tmp_path / 'a']), ('run 2', [tmp_path / 'b'])]


def test_training_script_lists_each_seed_once_in_the_manifest():
    spec = importlib.util.spec_from_file_location('train_demo_pair',
                                                  REPO / 'scripts' / 'train_demo_pair.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entry = dict(name='m', checkpoint='checkpoints/m.pth', val_mIoU=68.03,
                 val_curve='checkpoints/logs/m/val_curve.json', train_minutes=14.8)
    module.add_seed(entry, dict(seed=2, checkpoint='checkpoints/seeds/m_seed2.pth',
                                val_mIoU=67.0))
    module.add_seed(entry, dict(seed=1, checkpoint='checkpoints/seeds/m_seed1.pth',
                                val_mIoU=69.0))
    module.add_seed(entry, dict(seed=1, checkpoint='checkpoints/seeds/m_seed1.pth',
                                val_mIoU=69.5))                       # re-run of seed 1
    assert [(s['seed'], s['val_mIoU']) for s in entry['seeds']] == [(0, 68.03), (1, 69.5),
                                                                    (2, 67.0)]
    assert entry['seeds'][0]['checkpoint'] == 'checkpoints/m.pth'


def test_seed_table_script_prints_per_seed_numbers_and_mean_std(tmp_path):
    import subprocess
    import sys
    logs = tmp_path / 'logs'
    logs.mkdir()
    curves = {('b', 0): [40.0, 50.0], ('b', 1): [44.0, 52.0], ('b', 2): [45.0, 49.0],
              ('s', 0): [51.0, 55.0], ('s', 1): [50.0, 58.0]}
    for (name, seed), values in curves.items():
        write_lines(logs / f'{name}{seed}.json',
                    [{'mIoU': v, 'step': 100 * (i + 1)} for i, v in enumerate(values)])

    def entry(name, seeds):
        items = ', '.join(f'{{seed: {s}, val_mIoU: {curves[name, s][-1]}, '
                          f'val_curve: logs/{name}{s}.json}}' for s in seeds)
        return (f'- {{name: {name}, config: c.py, checkpoint: checkpoints/{name}.pth, '
                f'classes: [a], palette: [[0, 0, 0]], seeds: [{items}]}}\n')
    manifest = tmp_path / 'checkpoints' / 'manifest.yaml'
    manifest.parent.mkdir()
    manifest.write_text('models:\n' + entry('b', [0, 1, 2]) + entry('s', [0, 1])
                        + 'pairs:\n- {name: p, baseline: b, ssa: s}\n')
    out = subprocess.run([sys.executable, str(REPO / 'scripts' / 'seed_table.py'),
                          '--manifest', str(manifest)], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    # seed 0: 50 -> 55, reached at 100 (51); seed 1: 52 -> 58, reached at 200 (50 < 52)
    assert '| 0 | 50.00 | 55.00 | +5.00 | 100 |' in out
    assert '| 1 | 52.00 | 58.00 | +6.00 | 200 |' in out
    # gains 5 and 6: mean 5.5, sample std sqrt(0.5) = 0.71; iterations 150 +- 71
    assert ('| mean +- std | 51.00 +- 1.41 (n = 2) | 56.50 +- 2.12 (n = 2) | '
            '5.50 +- 0.71 (n = 2) | 150 +- 71 (n = 2) |') in out
    assert 'baseline only: seed 2 49.00' in out
