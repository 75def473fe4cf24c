"""Print the demo pair's numbers over training seeds (the README's table), from the manifest.

    .venv/bin/python scripts/seed_table.py [--pair NAME] [--manifest FILE]

Per seed listed under both models (``seeds`` in checkpoints/manifest.yaml, written by
``scripts/train_demo_pair.py --seed N``): both val mIoU, the gain, and the first iteration
at which SSA-Seg's validation curve reaches that seed's baseline final mIoU; then mean +-
std (sample std) over the seeds both models have, and the seeds only one model has so far.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pair', default=None)
    parser.add_argument('--manifest', default=None)
    args = parser.parse_args()

    from analysis.figures.curves import curves_data
    from analysis.figureset import FigureSet
    from analysis.seed_runs import format_mean_std, mean_std
    from ssa_seg.zoo import load_zoo

    pair = load_zoo(args.manifest).pair(args.pair)
    runs = {role: {s['seed']: s for s in getattr(pair, role).extra.get('seeds') or []}
            for role in ('baseline', 'ssa')}
    both = sorted(set(runs['baseline']) & set(runs['ssa']))
    data = curves_data(FigureSet(specs=dict(baseline=pair.baseline, ssa=pair.ssa)))
    reach = {r['run']: r['ssa_reaches_at'] for r in (data.seeds or {}).get('runs', [])}
    if not data.seeds:
        reach['seed 0'] = data.ssa_reaches_at
    print('| seed | baseline val mIoU | SSA-Seg val mIoU | gain | SSA-Seg reaches the '
          'baseline\'s final mIoU at |\n|---:|---:|---:|---:|---:|')
    for seed in both:
        base, ssa = runs['baseline'][seed]['val_mIoU'], runs['ssa'][seed]['val_mIoU']
        at = reach.get(f'seed {seed}')
        print(f'| {seed} | {base:.2f} | {ssa:.2f} | {ssa - base:+.2f} | '
              f'{"never" if at is None else at} |')
    columns = [mean_std([runs['baseline'][s]['val_mIoU'] for s in both]),
               mean_std([runs['ssa'][s]['val_mIoU'] for s in both]),
               mean_std([runs['ssa'][s]['val_mIoU'] - runs['baseline'][s]['val_mIoU']
                         for s in both]),
               mean_std([reach.get(f'seed {s}') for s in both])]
    print('| mean +- std | ' + ' | '.join(format_mean_std(c, 0 if i == 3 else 2)
                                        for i, c in enumerate(columns)) + ' |')
    for role in ('baseline', 'ssa'):
        alone = sorted(set(runs[role]) - set(both))
        if alone:
            print(f'\n{role} only: ' + ', '.join(
                f'seed {s} {runs[role][s]["val_mIoU"]:.2f}' for s in alone))


if __name__ == '__main__':
    main()
