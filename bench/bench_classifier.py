"""Speed of the SSA-Seg classifier, side by side in one run.

1. Section-2 path at K=150, C=256, 128 x 128 features (an ADE20K head at 512 x 512):
   the library's ``SSAClassifier`` vs the step-by-step transcription (``ssa_seg.stepwise``),
   after checking they agree (max abs diff <= 1e-4); plus the plain 1x1 conv for scale.
   Target: >= 1.4x faster than step-by-step.
2. A SegFormer-B0-shaped model (MiT-B0, SegformerHead, 256 channels, 150 classes) at
   512 x 512, vanilla head vs ``SegformerHead_ssa``. Target: SSA/baseline latency <= 1.15.

Run: .venv/bin/python bench/bench_classifier.py [--repeats 20]
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ssa_seg.classifier import SSAClassifier
from ssa_seg.stepwise import stepwise_adapt


def timed(fns, repeats, warmup=3):
    """Best (minimum) seconds per call of each function.

    Runs are interleaved so drift hits all alike, and the minimum is the least disturbed by
    other work on a shared 2-core machine (the median is printed too).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    for name, s in samples.items():
        print(f'    ({name}: median {statistics.median(s) * 1e3:.2f} ms over {repeats})')
    return {name: min(s) for name, s in samples.items()}


@torch.no_grad()
def classifier_bench(repeats):
    torch.manual_seed(0)
    clf = SSAClassifier(256, 150).eval()
    feat = torch.randn(1, 256, 128, 128)
    diff = (clf(feat) - stepwise_adapt(clf, feat)[2]).abs().max().item()
    assert diff <= 1e-4, f'library and step-by-step disagree: {diff}'
    t = timed({
        'conv_seg (vanilla 1x1)': lambda: F.conv2d(feat, clf.conv_seg.weight, clf.conv_seg.bias),
        'SSA step-by-step': lambda: stepwise_adapt(clf, feat),
        'SSA library': lambda: clf(feat),
    }, repeats)
    print(f'[classifier] K=150 C=256 128x128, max abs diff {diff:.2e}')
    for name, sec in t.items():
        print(f'  {name:26s} {sec * 1e3:8.2f} ms')
    ratio = t['SSA step-by-step'] / t['SSA library']
    print(f'  speed-up library vs step-by-step: {ratio:.2f}x (target >= 1.4x)')
    return ratio


def segformer_b0(head_type):
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='MixVisionTransformer', in_channels=3, embed_dims=32, num_stages=4,
                      num_layers=[2, 2, 2, 2], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
                      sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4,
                      qkv_bias=True),
        decode_head=dict(type=head_type, in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3],
                         channels=256, dropout_ratio=0.1, num_classes=150,
                         norm_cfg=dict(type='BN', requires_grad=True), align_corners=False),
        test_cfg=dict(mode='whole'))


@torch.no_grad()
def model_bench(repeats):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import ssa_seg  # noqa: F401  (registers the *_ssa heads)

    init_default_scope('mmseg')
    torch.manual_seed(0)
    models = {name: MODELS.build(segformer_b0(name)).eval()
              for name in ('SegformerHead', 'SegformerHead_ssa')}
    x = torch.randn(1, 3, 512, 512)
    t = timed({name: (lambda m=m: m(x, mode='tensor')) for name, m in models.items()}, repeats)
    print('[model] SegFormer-B0 shape, 150 classes, 512x512, forward (tensor mode)')
    for name, sec in t.items():
        print(f'  {name:26s} {sec * 1e3:8.2f} ms')
    ratio = t['SegformerHead_ssa'] / t['SegformerHead']
    print(f'  SSA / baseline latency: {ratio:.3f} (target <= 1.15)')
    return ratio


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--skip-model', action='store_true', help='classifier only (no mmseg)')
    args = parser.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    classifier_bench(args.repeats)
    if not args.skip_model:
        model_bench(max(5, args.repeats // 2))
