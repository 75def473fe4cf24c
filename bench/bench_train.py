"""SSA-Seg's training cost over its baseline: one training step, side by side in one run.

A step is ``model(**batch, mode='loss')``, the sum of the loss entries, ``backward`` and an
SGD update (what mmengine's ``train_step`` does, without the runner), batch 2 at 256 x 256,
150 classes, random labels with a band of ignored rows, random weights (the cost does not
depend on the values), for two model pairs:

* SeaFormer-L (this project's configs, LightHead vs LightHead_ssa; logits at 1/8: 32 x 32);
* the SegFormer-B0 shape (MiT-B0, SegformerHead with 256 channels; logits at 1/4: 64 x 64).

The machine is shared and noisy: baseline and SSA-Seg steps alternate (one of each per
round, so load from other processes hits both alike) and each is summarised by its best and
median over the rounds, as process CPU time (at 1 thread the robust figure: it excludes the
time the process waited for a core) and wall time. Printed per model and thread count: the
SSA-Seg/baseline ratio of the best and of the median (target <= 1.5).

The SSA-Seg heads compute a plain cross-entropy main loss (and mmseg's ``acc_seg``) in the
student's banded pass (``ssa_seg.classifier.BandedCrossEntropy``), where the stock baseline
upsamples its logits, takes ``F.cross_entropy`` and ``topk`` at the label's size. So a third
model is timed in the same rounds: the baseline with its main loss computed the same banded
way (``banded baseline``); SSA-Seg / banded baseline is the like-for-like cost of the
classifier and its recipe.

``--profile [--models ...]`` prints instead the top operators (torch.profiler, self CPU
time) of one baseline and one SSA-Seg step at 1 thread (SeaFormer-L unless told).

Run: nice -n 10 .venv/bin/python bench/bench_train.py [--repeats 8] [--threads 1 2] [--profile]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))

from bench_classifier import segformer_b0  # noqa: E402  (the SegFormer-B0 shape, 150 classes)
from bench_reference import interleaved  # noqa: E402

CONFIGS = REPO / 'ssa_seg' / 'configs'
SEAFORMER = ('seaformer/seaformer_large_512x512_160k_4x4_ade20k.py',
             'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py')
TARGET_RATIO = 1.5
NUM_CLASSES = 150


def build_pairs() -> dict:
    """{name: (baseline, SSA-Seg, banded baseline)} in train mode, SyncBN reverted to BN."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import ssa_seg  # noqa: F401  (registers the ported families and the *_ssa heads)

    init_default_scope('mmseg')
    pairs = {}
    configs = {'SeaFormer-L': [Config.fromfile(CONFIGS / c).model for c in SEAFORMER],
               'SegFormer-B0': [segformer_b0('SegformerHead'), segformer_b0('SegformerHead_ssa')]}
    for name, models in configs.items():
        built = []
        for cfg in (*models, models[0]):   # baseline, SSA-Seg, baseline again (banded)
            cfg = dict(cfg, train_cfg=dict())
            if 'backbone' in cfg:   # no ImageNet weights to fetch
                cfg['backbone'] = {k: v for k, v in cfg['backbone'].items() if k != 'init_cfg'}
            cfg.pop('pretrained', None)
            torch.manual_seed(0)
            built.append(revert_sync_batchnorm(MODELS.build(cfg)).train())
        built[2] = with_banded_main_loss(built[2])
        pairs[name] = tuple(built)
    return pairs


def with_banded_main_loss(model):
    """``model`` (a baseline) whose head computes its plain CE and acc_seg in one banded pass,
    as the SSA-Seg heads do (ssa_seg.upsampled_losses), instead of mmseg's loss_by_feat."""
    from ssa_seg.models.ssa_head import banded_main_loss
    from ssa_seg.upsampled_losses import upsampled_terms

    head = model.decode_head
    spec = banded_main_loss(head)
    if spec is None:
        raise SystemExit(f'{type(head).__name__}: its main loss is not a plain cross-entropy')

    def loss_by_feat(seg_logits, batch_data_samples):
        label = head._stack_batch_gt(batch_data_samples)[:, 0].long()
        ce, _, correct = upsampled_terms(seg_logits, label, head.align_corners,
                                         with_dice=False, with_accuracy=True)
        return spec.entries(ce, correct, label)
    head.loss_by_feat = loss_by_feat
    return model


def random_batch(model, size=(256, 256), batch=2, seed=0) -> dict:
    """Random uint8 images and labels (rows 0-3 ignored) through the model's preprocessor."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        label = torch.randint(0, NUM_CLASSES, (1, *size), generator=g)
        label[:, :4] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    # Training pads to the preprocessor's crop size (512 in the configs): pad to the batch's.
    model.data_preprocessor.size = tuple(size)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


def step_probe(model):
    """One timed training step: forward with losses, backward, SGD update."""
    batch = random_batch(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)

    def once():
        start, cpu = time.perf_counter(), time.process_time()
        losses = model(**batch, mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        return time.perf_counter() - start, time.process_time() - cpu
    return once


def profile(pairs: dict, rows: int, names) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch.set_num_threads(1)
    for name in names:
        for role, model in zip(('baseline', 'SSA-Seg', 'banded baseline'), pairs[name]):
            once = step_probe(model)
            once()
            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                once()
            print(f'\n[profile] {name} {role}, one training step, 1 thread')
            print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=8, help='timed rounds (default 8)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--profile', action='store_true', help='print top operators instead')
    parser.add_argument('--rows', type=int, default=20, help='profile rows (default 20)')
    parser.add_argument('--models', nargs='+', default=['SeaFormer-L'],
                        choices=['SeaFormer-L', 'SegFormer-B0'], help='models to profile')
    args = parser.parse_args()
    pairs = build_pairs()
    if args.profile:
        profile(pairs, args.rows, args.models)
        return 0
    print(f'[bench_train] torch {torch.__version__}, {os.cpu_count()} CPUs, load average '
          f'{os.getloadavg()[0]:.2f}; batch 2 x 256 x 256, {NUM_CLASSES} classes; '
          f'{args.repeats} interleaved rounds after {args.warmup} warm-up', flush=True)
    print(f'\n{"model":13s} {"thr":>3s} {"clock":5s} {"stat":4s} {"baseline":>9s} '
          f'{"banded":>8s} {"SSA-Seg":>8s} {"SSA/base":>9s} {"SSA/banded":>11s}')
    roles = ('base', 'ssa', 'banded')
    for threads in args.threads:
        torch.set_num_threads(threads)
        probes = {(name, role): step_probe(model) for name, models in pairs.items()
                  for role, model in zip(roles, models)}
        samples = interleaved(probes, args.repeats, args.warmup)
        for name in pairs:
            for index, clock in ((1, 'cpu'), (0, 'wall')):   # once() returns (wall, cpu)
                for stat, summary in (('best', min), ('med', statistics.median)):
                    base, ssa, banded = (summary([x[index] for x in samples[(name, role)]])
                                         for role in roles)
                    print(f'{name:13s} {threads:3d} {clock:5s} {stat:4s} {1e3 * base:7.0f}ms '
                          f'{1e3 * banded:6.0f}ms {1e3 * ssa:6.0f}ms {ssa / base:9.3f} '
                          f'{ssa / banded:11.3f}', flush=True)
    print(f'\ntarget: SSA-Seg/baseline <= {TARGET_RATIO} (1-thread CPU-time ratio the robust '
          'figure; at 2 threads CPU time includes OpenMP spin-waiting, wall time the waits '
          'for a core on a shared machine). SSA/banded: against the baseline with its CE '
          'computed the same banded way (like for like)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
