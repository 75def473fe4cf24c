"""Train the shipped demo pair and write checkpoints/manifest.yaml.

    .venv/bin/python scripts/train_demo_pair.py [--iters 1500] [--data-root data/synthscenes]

1. generates SynthScenes (seed 0, 2000 train / 200 val, 256 x 256) if it is not there;
2. trains the baseline, the SSA-Seg config and the ablation "SSA-Seg without distillation"
   with ``python -m ssa_seg.train``, same schedule, data and seed (the configs differ only
   by the head type, and the ablation by ``distillation=False``);
3. stores each final model as a weights-only checkpoint under checkpoints/, evaluates it
   on the whole val set and on a fixed subset (the first SUBSET_IMAGES val images, which
   a test re-checks), and writes the manifest;
4. with ``--curve-interval N`` (100 for the shipped models) the run also keeps a checkpoint
   every N iterations, and each is evaluated on the whole val set afterwards: the
   validation curve (paper Fig. 4) goes to checkpoints/logs/<name>/val_curve.json, one
   mmengine-style scalars line per point, beside a copy of the run's own scalars.json.
   Evaluating saved checkpoints instead of validating inside the run keeps the training
   itself untouched: an in-run validation draws from the global RNG (the val loader's
   seed) and so changes every later dropout mask; checkpoint saving draws nothing, so the
   model is bit-identical to one trained without the curve.

5. with ``--seed N`` (N != 0) the same run with ``randomness.seed=N`` (nothing else
   changes): the model goes to checkpoints/seeds/<name>_seed<N>.pth, its curve and log to
   checkpoints/logs/<name>/seed<N>/, and the manifest gains (or updates) one item of the
   model's ``seeds`` list, ``{seed, checkpoint, val_mIoU, val_curve}``; seed 0 is the
   shipped model itself. The model's own entry is left as it is.

The shipped pair was trained by two runs at once, one per core:
    export OMP_NUM_THREADS=1
    python scripts/train_demo_pair.py --only synthscenes_baseline &
    python scripts/train_demo_pair.py --only synthscenes_ssa
(with more threads than free cores, OpenMP's barriers made training 4-7x slower here).
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = {  # name -> config
    'synthscenes_baseline': 'ssa_seg/configs/demo/baseline_synthscenes.py',
    'synthscenes_ssa': 'ssa_seg/configs/demo/ssa_synthscenes.py',
    'synthscenes_ssa_nodistill': 'ssa_seg/configs/demo/ssa_nodistill_synthscenes.py',
}
PAIR = dict(name='synthscenes-demo', baseline='synthscenes_baseline', ssa='synthscenes_ssa',
            ablation='synthscenes_ssa_nodistill')
SUBSET_IMAGES = 40
GENERATE = ['-m', 'ssa_seg.synthscenes', '--seed', '0', '--num-train', '2000', '--num-val', '200',
            '--size', '256']


def run(args, log):
    print('+', ' '.join(args), flush=True)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, 'w') as fh:
        subprocess.run(args, check=True, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)


def ship_logs(name, config, work_dir, data_root, out):
    """Evaluate every ``iter_*.pth`` of ``work_dir`` on the whole val set; write the curve
    (and a copy of the run's scalars.json) under ``out`` (checkpoints/logs/<name>/[seed<N>/]).
    Returns the manifest keys naming them."""
    import json
    import shutil

    from ssa_seg.apis import init_model
    from ssa_seg.evaluation import evaluate

    os.makedirs(out, exist_ok=True)
    runs = sorted(p for p in work_dir.iterdir() if p.is_dir() and p.name[:2] == '20')
    scalars = runs[-1] / 'vis_data' / 'scalars.json'
    shutil.copy(scalars, out / 'scalars.json')
    points = sorted(work_dir.glob('iter_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    lines = []
    for path in points:
        step = int(path.stem.split('_')[1])
        result = evaluate(init_model(config, path), data_root=str(data_root))
        lines.append(json.dumps(dict(aAcc=round(result['aAcc'], 2),
                                     mIoU=round(result['mIoU'], 2), step=step)))
        print(f'{name}: iter {step} val mIoU {result["mIoU"]:.2f}', flush=True)
    (out / 'val_curve.json').write_text('\n'.join(lines) + '\n')
    rel = os.path.relpath(out, ROOT)
    return dict(train_log=f'{rel}/scalars.json', val_curve=f'{rel}/val_curve.json')


def add_seed(entry, run_entry):
    """Put ``run_entry`` (one seed's ``{seed, checkpoint, val_mIoU, val_curve, ...}``) in the
    model entry's ``seeds`` list, replacing a previous run of that seed; seed 0, the shipped
    model, is listed first from the entry's own keys. Sorted by seed."""
    shipped = dict(seed=0, checkpoint=entry['checkpoint'], val_mIoU=entry['val_mIoU'],
                   val_curve=entry.get('val_curve'), train_log=entry.get('train_log'),
                   train_minutes=entry.get('train_minutes'))
    runs = {r['seed']: r for r in entry.get('seeds') or [shipped]}
    runs[run_entry['seed']] = run_entry
    entry['seeds'] = [runs[s] for s in sorted(runs)]


def train_options(args):
    """The ``--cfg-options`` of a run: the data root, and the seed, schedule and checkpoint
    interval when they differ from the config's."""
    options = [f'data_root={args.data_root}',
               f'train_dataloader.dataset.data_root={args.data_root}',
               f'val_dataloader.dataset.data_root={args.data_root}',
               f'test_dataloader.dataset.data_root={args.data_root}']
    if args.seed:
        options.append(f'randomness.seed={args.seed}')
    if args.iters:
        options.append(f'train_cfg.max_iters={args.iters}')
    if args.curve_interval:
        options += [f'default_hooks.checkpoint.interval={args.curve_interval}',
                    'default_hooks.checkpoint.max_keep_ckpts=-1']
    return options


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iters', type=int, default=None, help='override max_iters')
    parser.add_argument('--data-root', default='data/synthscenes')
    parser.add_argument('--work-root', default='work_dirs/demo')
    parser.add_argument('--only', choices=list(MODELS), help='train one model only')
    parser.add_argument('--skip-train', action='store_true',
                        help='only export, evaluate and record an already trained work dir')
    parser.add_argument('--seed', type=int, default=0,
                        help='training seed (randomness.seed); 0 is the shipped model, any other '
                             'seed is stored under checkpoints/seeds/ and in the manifest\'s '
                             '``seeds`` list of the model')
    parser.add_argument('--curve-interval', type=int, default=None,
                        help='keep a checkpoint every N iterations and evaluate each on the '
                             'val set afterwards (the validation curve)')
    args = parser.parse_args()

    from ssa_seg.apis import init_model
    from ssa_seg.checkpoint import save_weights
    from ssa_seg.evaluation import evaluate

    data_root = ROOT / args.data_root
    if not (data_root / 'img_dir' / 'val').is_dir():
        run([sys.executable, *GENERATE, '--out', str(data_root), '--no-progress'],
            ROOT / 'work_dirs' / 'generate.log')
    manifest_path = ROOT / 'checkpoints' / 'manifest.yaml'
    os.makedirs(ROOT / 'checkpoints', exist_ok=True)
    entries, seeds = {}, {}

    for name, config in MODELS.items():
        if args.only and name != args.only:
            continue
        suffix = f'_seed{args.seed}' if args.seed else ''
        work_dir = ROOT / args.work_root / (name + suffix)
        options = train_options(args)
        command = ['python', '-m', 'ssa_seg.train', config,
                   '--work-dir', os.path.relpath(work_dir, ROOT)]
        t0 = time.time()
        if not args.skip_train:
            os.makedirs(work_dir, exist_ok=True)
            run([sys.executable, *command[1:], '--cfg-options', *options], work_dir / 'train.log')
        last = (work_dir / 'last_checkpoint').read_text().strip()
        minutes = (time.time() - t0) / 60
        if args.skip_train:   # from the Runner's own start time-stamp to the last checkpoint
            started = sorted(p for p in work_dir.iterdir() if p.is_dir() and p.name[:2] == '20')[-1]
            start = time.mktime(time.strptime(started.name, '%Y%m%d_%H%M%S'))
            minutes = (os.path.getmtime(last) - start) / 60
        model = init_model(config, last)
        checkpoint = (f'checkpoints/seeds/{name}{suffix}.pth' if args.seed
                      else f'checkpoints/{name}.pth')
        os.makedirs(ROOT / os.path.dirname(checkpoint), exist_ok=True)
        save_weights(model, ROOT / checkpoint, meta=dict(dataset_meta=model.dataset_meta,
                                                         config=config))
        model = init_model(config, ROOT / checkpoint)
        full = evaluate(model, data_root=str(data_root))
        subset = evaluate(model, data_root=str(data_root), max_images=SUBSET_IMAGES)
        print(f'{name}: val mIoU {full["mIoU"]:.2f}, subset {subset["mIoU"]:.2f}, '
              f'{minutes:.1f} min', flush=True)
        logs = {}
        if args.curve_interval:
            out = ROOT / 'checkpoints' / 'logs' / name / (f'seed{args.seed}' if args.seed else '')
            logs = ship_logs(name, config, work_dir, data_root, out)
        if args.seed:
            seeds[name] = dict(seed=args.seed, checkpoint=checkpoint,
                               val_mIoU=round(full['mIoU'], 2), val_curve=logs.get('val_curve'),
                               train_log=logs.get('train_log'), train_minutes=round(minutes, 1))
            continue
        entries[name] = dict(
            name=name, config=config, checkpoint=checkpoint,
            classes=list(model.dataset_meta['classes']),
            palette=[list(map(int, p)) for p in model.dataset_meta['palette']],
            val_mIoU=round(full['mIoU'], 2),
            val_per_class_IoU={k: round(float(v), 2) for k, v in full['per_class'].items()},
            subset_mIoU=round(subset['mIoU'], 2), subset_images=SUBSET_IMAGES,
            data=' '.join(['python', *GENERATE, '--out', args.data_root]),
            train_command=' '.join(command + ['--cfg-options', *options]),
            train_minutes=round(minutes, 1),
            train_threads=int(os.environ.get('OMP_NUM_THREADS', 0)) or None,
            **logs,
        )
    # Re-read just before writing: the two models may be trained by two processes at once.
    old = yaml.safe_load(manifest_path.read_text()) if manifest_path.exists() else {}
    entries = {**{m['name']: m for m in (old or {}).get('models', [])}, **entries}
    for name, run_entry in seeds.items():
        add_seed(entries[name], run_entry)
    manifest = dict(models=[entries[n] for n in MODELS if n in entries], pairs=[PAIR])
    manifest_path.write_text(
        '# The model zoo read by the app and the analysis tools (see ssa_seg/zoo/manifest.py).\n'
        '# Written by scripts/train_demo_pair.py; paths are relative to the repo root.\n'
        + yaml.safe_dump(manifest, sort_keys=False, width=100, default_flow_style=None))
    print(f'wrote {manifest_path}')


if __name__ == '__main__':
    main()
