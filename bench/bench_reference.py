"""Reference models on CPU: SSA-Seg's cost over its baseline, and the app's round trip.

Printed side by side from one run:
1. latency of one 512 x 512 forward (``model.inference``: backbone, head, classifier, resize
   to the input) of SeaFormer-L and SegNeXt-T, baseline and SSA-Seg, from this project's
   configs with random weights (the cost does not depend on the values), in eval mode under
   ``torch.no_grad``, with 1 and with 2 threads. The four models run in turn, one call each per
   round (interleaved, so that load from other processes hits all alike); best of N and
   median of the wall time, and the SSA/baseline ratio of each. Beside it the process CPU
   time of the same calls: on a shared machine (load above the core count) wall times
   include the time the process waited for a core, CPU time does not, so at 1 thread the
   CPU-time ratio is the robust figure (at 2 threads it includes OpenMP's spin-waiting).
   The paper reports +1.7% for SeaFormer-L on a V100 (ratio 1.017); the target here is
   <= 1.10 (judged on the 1-thread best-of CPU-time ratio).
2. the app's round trip on the SeaFormer-L pair: random-weight checkpoints of both models
   saved to a temporary folder, ``python -m app --baseline ... --ssa ...`` started as a
   subprocess, ``/compare`` called with ``gradio_client`` on a 512 x 512 image (upload, queue,
   both models, statistics, PNG encoding, download); best and median.

3. ``--vit-adapter``, instead: the ViT-Adapter-L pair (UperNet, 366 M parameters), random
   weights, one 512 x 512 forward in whole and in slide mode (the configs' 512 crops, stride
   341: one crop at 512 x 512; also a 512 x 683 image, ADE20K's usual test size, two crops),
   1 and 2 threads, baseline and SSA-Seg interleaved; the share of the forward spent in the
   multi-scale deformable attention's sampling (mmcv's pure-PyTorch path on CPU: mmcv 2.1 has
   no CPU kernel for it); and the app round trip on this pair. Heavy: run it niced, once.

Run: .venv/bin/python bench/bench_reference.py [--repeats 10] [--warmup 2] [--no-app]
     .venv/bin/python bench/bench_reference.py --vit-adapter [--repeats 2] [--warmup 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'bench'))
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'
os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'

CONFIGS = REPO / 'ssa_seg' / 'configs'
MODELS = {
    'SeaFormer-L': ('seaformer/seaformer_large_512x512_160k_4x4_ade20k.py',
                    'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py'),
    'SegNeXt-T': ('segnext/segnext_tiny_512x512_160k_4x4_ade20k.py',
                  'segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py'),
}
VIT_ADAPTER = ('vit-adapter/upernet_augreg_adapter_large_512_160k_ade20k.py',
               'vit-adapter/upernet_augreg_adapter_large_512_160k_ade20k_ssa.py')
PAPER_RATIO = {'SeaFormer-L': 1.017}
TARGET_RATIO = 1.10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=10, help='timed rounds (default 10)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--app-repeats', type=int, default=8)
    parser.add_argument('--no-app', action='store_true', help='skip the app round trip')
    parser.add_argument('--vit-adapter', action='store_true',
                        help='time the ViT-Adapter-L pair instead (see the module doc)')
    return parser.parse_args()


def build(config: Path):
    import torch

    from ssa_seg.apis import init_model

    torch.manual_seed(0)
    return init_model(str(config))            # random weights, eval mode, no pretrained fetch


def forward_probe(model, size, mode: str = 'whole'):
    """One timed ``model.inference`` call on a fixed random input (``size``: an int for a
    square, or (h, w)), with the config's test mode set to ``mode`` for the call."""
    import torch

    h, w = (size, size) if isinstance(size, int) else size
    inputs = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    metas = [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w),
                  padding_size=[0, 0, 0, 0])]

    def once():
        kept = model.test_cfg.mode
        model.test_cfg.mode = mode
        try:
            with torch.no_grad():
                start, cpu = time.perf_counter(), time.process_time()
                model.inference(inputs, metas)
                return time.perf_counter() - start, time.process_time() - cpu
        finally:
            model.test_cfg.mode = kept
    return once


def head_probe(model, size: int):
    """One timed decode-head forward (features to logits at 1/8) on fixed backbone features:
    where baseline and SSA-Seg differ, in calls ten times shorter than the whole model, so
    that best-of catches quiet moments of a shared machine."""
    import torch

    from ssa_seg.apis import final_head

    inputs = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = model.extract_feat(inputs)
    head = final_head(model)

    def once():
        with torch.no_grad():
            start, cpu = time.perf_counter(), time.process_time()
            head.forward(feats)
            return time.perf_counter() - start, time.process_time() - cpu
    return once


def interleaved(probes, repeats: int, warmup: int):
    samples = {name: [] for name in probes}
    for round_index in range(warmup + repeats):
        for name, once in probes.items():
            elapsed = once()
            if round_index >= warmup:
                samples[name].append(elapsed)
    return samples


def latency_table(args) -> list:
    import torch

    models = {}
    for family, (base, ssa) in MODELS.items():
        models[(family, 'baseline')] = build(CONFIGS / base)
        models[(family, 'ssa')] = build(CONFIGS / ssa)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        probes = {key: forward_probe(model, args.size) for key, model in models.items()}
        probes.update({(*key, 'head'): head_probe(model, args.size)
                       for key, model in models.items()})
        samples = interleaved(probes, args.repeats, args.warmup)
        for family in MODELS:
            base, ssa = samples[(family, 'baseline')], samples[(family, 'ssa')]
            row = dict(family=family, threads=threads,
                       head_base=min(x[1] for x in samples[(family, 'baseline', 'head')]),
                       head_ssa=min(x[1] for x in samples[(family, 'ssa', 'head')]))
            for index, clock in enumerate(('wall', 'cpu')):
                b, s = [x[index] for x in base], [x[index] for x in ssa]
                row.update({f'{clock}_base_best': min(b), f'{clock}_ssa_best': min(s),
                            f'{clock}_base_median': statistics.median(b),
                            f'{clock}_ssa_median': statistics.median(s)})
            rows.append(row)
    return rows


def app_round_trip(args, folder: Path, pair=MODELS['SeaFormer-L'], name='seaformer-l') -> dict:
    """Seconds of ``/compare`` on a pair of configs (random weights) through the app."""
    from bench_app import ClientProbe, start_server, test_image

    from ssa_seg.checkpoint import save_weights

    app_args = []
    for role, config in zip(('baseline', 'ssa'), pair):
        model = build(CONFIGS / config)
        checkpoint = folder / f'{name}_{role}.pth'
        save_weights(model, checkpoint, meta=dict(dataset_meta=model.dataset_meta))
        app_args += [f'--{role}', str(CONFIGS / config), str(checkpoint)]
        del model
    image = test_image(folder, args.size)
    started = time.perf_counter()
    process, url = start_server(app_args + ['--name', name], folder / 'server.log')
    startup = time.perf_counter() - started
    try:
        probe = ClientProbe(url, image)
        samples = interleaved({'client': probe.once}, args.app_repeats, 1)['client']
        threads = os.environ.get('OMP_NUM_THREADS', 'default')
        server_side = probe.stats['models']
    finally:
        process.terminate()
        process.wait(timeout=30)
    return dict(samples=samples, startup=startup, threads=threads,
                base=server_side['baseline']['inference_seconds'],
                ssa=server_side['ssa']['inference_seconds'])


def deform_share(model, size: int) -> tuple:
    """(seconds of one whole-mode forward, seconds spent in the deformable sampling in it),
    by wrapping ``ssa_seg.models.backbones.ms_deform_attn.deform_sample`` for one call."""
    from ssa_seg.models.backbones import ms_deform_attn

    real, spent = ms_deform_attn.deform_sample, [0.0]

    def timed(*inputs):
        start = time.perf_counter()
        out = real(*inputs)
        spent[0] += time.perf_counter() - start
        return out
    ms_deform_attn.deform_sample = timed
    try:
        total = forward_probe(model, size)()[0]
    finally:
        ms_deform_attn.deform_sample = real
    return total, spent[0]


def vit_adapter_bench(args) -> int:
    """Section 3 of the module doc: the ViT-Adapter-L pair's forward and app round trip."""
    import torch

    models = {role: build(CONFIGS / config) for role, config in zip(('baseline', 'ssa'),
                                                                     VIT_ADAPTER)}
    cases = [('whole', args.size), ('slide', args.size), ('slide', (args.size, 683))]
    print(f'\n{"ViT-Adapter-L":14s} {"thr":>3s} {"mode":5s} {"input":>9s} {"crops":>5s} '
          f'{"base best":>10s} {"SSA best":>9s} {"ratio":>6s} {"base cpu":>9s} {"SSA cpu":>8s}')
    for threads in args.threads:
        torch.set_num_threads(threads)
        probes = {(role, mode, size): forward_probe(model, size, mode)
                  for role, model in models.items() for mode, size in cases}
        samples = interleaved(probes, args.repeats, args.warmup)
        for mode, size in cases:
            h, w = (size, size) if isinstance(size, int) else size
            crops = 1 if mode == 'whole' else (max(w - 512 + 340, 0) // 341 + 1) * (
                max(h - 512 + 340, 0) // 341 + 1)
            base, ssa = samples[('baseline', mode, size)], samples[('ssa', mode, size)]
            bw, sw = min(x[0] for x in base), min(x[0] for x in ssa)
            bc, sc = min(x[1] for x in base), min(x[1] for x in ssa)
            print(f'{"":14s} {threads:3d} {mode:5s} {f"{h}x{w}":>9s} {crops:5d} '
                  f'{bw:9.2f}s {sw:8.2f}s {sw / bw:6.3f} {bc:8.2f}s {sc:7.2f}s', flush=True)
        total, spent = deform_share(models['ssa'], args.size)
        print(f'  {threads} thread(s): deformable sampling {spent:.2f} s of a {total:.2f} s '
              f'whole forward ({100 * spent / total:.1f}%; mmcv\'s pure-PyTorch path, the '
              f'only one on CPU)', flush=True)
    del models
    if args.no_app:
        return 0
    torch.set_num_threads(max(args.threads))
    with tempfile.TemporaryDirectory(prefix='bench_reference_') as tmp:
        result = app_round_trip(args, Path(tmp), VIT_ADAPTER, 'vit-adapter-l')
    samples = result['samples']
    print(f'\napp round trip, ViT-Adapter-L pair, {args.size}x{args.size} image, /compare '
          f'({len(samples)} calls after 1 warm-up; app started in {result["startup"]:.1f} s; '
          f'OMP_NUM_THREADS={result["threads"]}): best {min(samples):.2f} s, median '
          f'{statistics.median(samples):.2f} s; server-side model time of the last call: '
          f'baseline {result["base"]:.2f} s, SSA-Seg {result["ssa"]:.2f} s')
    return 0


def main() -> int:
    args = parse_args()
    import torch

    if args.vit_adapter:
        print(f'[bench_reference --vit-adapter] torch {torch.__version__}, {os.cpu_count()} '
              f'CPUs, load average {os.getloadavg()[0]:.2f}; random weights; {args.repeats} '
              f'interleaved rounds after {args.warmup} warm-up', flush=True)
        return vit_adapter_bench(args)

    print(f'[bench_reference] torch {torch.__version__}, {os.cpu_count()} CPUs, load average '
          f'{os.getloadavg()[0]:.2f}; input 1x3x{args.size}x{args.size}; random weights from '
          f'ssa_seg/configs; {args.repeats} interleaved rounds after {args.warmup} warm-up',
          flush=True)
    rows = latency_table(args)
    print(f'\n{"model":12s} {"thr":>3s} {"clock":5s} {"base best":>10s} {"SSA best":>9s} '
          f'{"ratio":>6s} {"base med":>9s} {"SSA med":>8s} {"ratio":>6s}')
    verdict = {}
    for row in rows:
        for clock in ('wall', 'cpu'):
            base_best, ssa_best = row[f'{clock}_base_best'], row[f'{clock}_ssa_best']
            base_med, ssa_med = row[f'{clock}_base_median'], row[f'{clock}_ssa_median']
            if clock == 'cpu' and row['threads'] == 1:
                verdict[row['family']] = ssa_best / base_best
            print(f'{row["family"]:12s} {row["threads"]:3d} {clock:5s} '
                  f'{1000 * base_best:8.0f}ms {1000 * ssa_best:7.0f}ms '
                  f'{ssa_best / base_best:6.3f} {1000 * base_med:7.0f}ms {1000 * ssa_med:6.0f}ms '
                  f'{ssa_med / base_med:6.3f}')
    print('\ndecode head only (same backbone features; best-of CPU time), and the whole-model '
          'ratio it implies (SSA head - baseline head added to the baseline model\'s best):')
    for row in rows:
        delta = row['head_ssa'] - row['head_base']
        implied = 1 + delta / row['cpu_base_best']
        print(f'  {row["family"]:12s} {row["threads"]} thread(s): head '
              f'{1000 * row["head_base"]:.1f} ms -> {1000 * row["head_ssa"]:.1f} ms '
              f'(+{1000 * delta:.1f} ms); implied ratio {implied:.3f}')
    print(f'load average now {os.getloadavg()[0]:.2f}. Paper (V100): SeaFormer-L ratio '
          f'{PAPER_RATIO["SeaFormer-L"]:.3f}; target here <= {TARGET_RATIO:.2f}')
    for family, ratio in verdict.items():
        print(f'  {family}: SSA/baseline {ratio:.3f} (1 thread, best-of CPU time): '
              f'{"PASS" if ratio <= TARGET_RATIO else "FAIL"}', flush=True)
    if args.no_app:
        return 0
    torch.set_num_threads(max(args.threads))
    with tempfile.TemporaryDirectory(prefix='bench_reference_') as tmp:
        result = app_round_trip(args, Path(tmp))
    samples = result['samples']
    print(f'\napp round trip, SeaFormer-L pair, {args.size}x{args.size} image, gradio_client '
          f'/compare ({len(samples)} calls after 1 warm-up; app started in '
          f'{result["startup"]:.1f} s; OMP_NUM_THREADS={result["threads"]}):')
    print(f'  best {min(samples):.3f} s, median {statistics.median(samples):.3f} s; server-side '
          f'model time of the last call: baseline {1000 * result["base"]:.0f} ms, SSA-Seg '
          f'{1000 * result["ssa"]:.0f} ms')
    return 0


if __name__ == '__main__':
    sys.exit(main())
