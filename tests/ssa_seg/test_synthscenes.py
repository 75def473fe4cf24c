"""SynthScenes generator, its mmsegmentation data set, and the train/test entry points."""
import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from ssa_seg import synthscenes
from ssa_seg.synthscenes import CLASSES, IGNORE_INDEX, PALETTE, generate, render_scene

VALID_LABELS = set(range(len(CLASSES))) | {IGNORE_INDEX}


def _digests(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


# ---------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------
def test_constants():
    assert len(CLASSES) == 10 and len(set(CLASSES)) == 10
    assert len(PALETTE) == len(CLASSES)
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in PALETTE)
    assert len({tuple(c) for c in PALETTE}) == len(PALETTE)


def test_render_scene_is_deterministic():
    image_a, label_a = render_scene(7, 96)
    image_b, label_b = render_scene(np.random.default_rng(7), 96)
    assert np.array_equal(image_a, image_b) and np.array_equal(label_a, label_b)
    image_c, label_c = render_scene(8, 96)
    assert not np.array_equal(image_a, image_c)
    assert not np.array_equal(label_a, label_c)


@pytest.mark.parametrize('size', [64, 256])
def test_render_scene_outputs_are_valid(size):
    seen = set()
    for seed in range(12):
        image, label = render_scene(seed, size)
        assert image.shape == (size, size, 3) and image.dtype == np.uint8
        assert label.shape == (size, size) and label.dtype == np.uint8
        values = set(np.unique(label).tolist())
        assert values <= VALID_LABELS, values - VALID_LABELS
        assert (label == IGNORE_INDEX).mean() < 0.05       # a thin band, not whole regions
        seen |= values
    # over a dozen scenes every class shows up (both indoor and outdoor scenes are drawn)
    assert set(range(len(CLASSES))) <= seen


def test_same_class_looks_different_across_images():
    """The point of the data set: class colour varies much more across images than within.

    People and cars are several parts (clothes, skin, glass, tyres), so only the one-material
    classes are checked."""
    multi_part = {CLASSES.index('person'), CLASSES.index('car')}
    across, within = {}, {}
    for seed in range(40):
        image, label = render_scene(seed, 128)
        for k in np.unique(label):
            if k == IGNORE_INDEX or k in multi_part or (label == k).sum() < 50:
                continue
            pixels = image[label == k].astype(np.float64)
            across.setdefault(k, []).append(pixels.mean(0))
            within.setdefault(k, []).append(pixels.std(0).mean())
    for k in across:
        if len(across[k]) >= 8:
            assert np.std(across[k], axis=0).mean() > 1.5 * np.mean(within[k]), CLASSES[k]


def test_generate_is_byte_identical_and_seeded(tmp_path):
    a, b, c, d = (tmp_path / n for n in 'abcd')
    generate(a, seed=1, num_train=3, num_val=2, size=64, progress=False)
    generate(b, seed=1, num_train=3, num_val=2, size=64, progress=False)
    generate(c, seed=2, num_train=3, num_val=2, size=64, progress=False)
    generate(d, seed=1, num_train=1, num_val=2, size=64, progress=False)
    digests_a = _digests(a)
    assert len([k for k in digests_a if k.endswith('.png')]) == 10
    assert digests_a == _digests(b)
    digests_c = _digests(c)
    for name in digests_a:
        if name.endswith('.png'):
            assert digests_a[name] != digests_c[name], name
    # an image does not depend on how many others are generated
    for name, digest in _digests(d).items():
        if name.endswith('.png'):
            assert digests_a[name] == digest, name
    # train and val are different images
    assert digests_a['img_dir/train/00000.png'] != digests_a['img_dir/val/00000.png']


# ---------------------------------------------------------------------------------------
# Regression pin: the generator's output is its specification
# ---------------------------------------------------------------------------------------
# SHA-256 digests recorded from the generator as it was before it was split into modules
# (ssa_seg/synthscenes/__init__.py at commit a532502, one 632-line module), with the pinned
# numpy 2.4.6 and opencv-python 5.0.0.93, by rendering these scenes at 64 x 64 and writing
# these sets at 48 x 48. Any change to a random draw, its order, a drawing primitive or the
# appearance changes them, and so does another OpenCV (its resizing, blur and PNG encoder make
# the bytes): a changed pin means a different data set, to be released as a new
# GENERATOR_VERSION with new pins, never silently.
PINNED_SCENES = {   # (seed, split, index): (scene, sha256 of image bytes, of label bytes)
    (0, 'train', 0): ('indoor',
        '563c43cd0b5a924b415b99ed6ad507f7bc724f121a7cb81a431281abed203091',
        '0915582136388c14c2534f621fbd6d265c0b52c9cb841c8b75d086ff47c38cf1'),
    (0, 'train', 1): ('outdoor',
        'ccd45014e54a53d9287630f92ca06a2b52ddbfbbc5979b5b0f33a9dc60dc4de2',
        'a4003e2c50ab602f08bf9b550303c5c77aa9afd94f247ebc2b07688aff3a8efe'),
    (0, 'train', 2): ('indoor',
        'ead5e37d27bd69d8e2dcb0bc497e509e87eda4e9e9436019c1474f5a3b2ad56d',
        '9745d273968d0d9e76e31ca0738e5fac18ec7e15d19d24784f7089c612a9aa22'),
    (0, 'val', 0): ('indoor',
        '9bacb8028493bdfc1b98d7244407e4cfea2911d2efc85ba5e38e7bc0d3e5e4f0',
        '72e3b2f1c2c918f5c5c5f601f0a4906d8ce5adbb7be7fbe72061f77fc0ad21dc'),
    (0, 'val', 1): ('indoor',
        '300666c12067a004b0c003a7dc0211bc86930d95d1021946e3f5eab79ba36664',
        '0d3efd60c9e562aa16ad4dcf2b3c6fb6c78c9d71529126df30b5f3ca1013c4ac'),
    (0, 'val', 2): ('indoor',
        '77ee9167c818e2b71e14d2b9348b3b88bc29be074dce822afa94bc39723d9a41',
        'b1f21b25ebb87e8382a6b4e8900fc63ffae7b0e57636136db6fc93294d606f28'),
    (1, 'train', 0): ('outdoor',
        '6dee82d5d5d2f9d568e1a1cea0669da09a8600232f19d8ddb5926de34060146d',
        '1d369633dc82dcc76d0afe65a6e3125a49b09550e3887865f9800e11d41ad225'),
    (1, 'train', 1): ('indoor',
        'bc78624d784189b9c9a426e055891ba91be098b21326d62774aa3602a1cea8b0',
        '73d77f67d00eebb10d1aacfb14fe280c964d2f4d6ba748e27db3d526479462a0'),
    (1, 'train', 2): ('outdoor',
        '71b34001c60e518aaf04bf5c180088efe27546ac1d3f4cd0356a6dcb48bdbf68',
        'c7e361a472a8c6eb20a1121223d6bffc5baa45a1093335d9cca6410d4a579093'),
    (1, 'val', 0): ('outdoor',
        'ece587379c797cd8544e99343c2acb952507fdcad4d3164c3c210f512f83866d',
        'b60a8dde75b9ce5815643fffc6d8765d03a9887d3792517947b5f1abe0585f5a'),
    (1, 'val', 1): ('indoor',
        '90ea54bc08cbba6fa273f2dd96f504ddcd55b3054008961b4fc250aa5dc01dac',
        'cc1c2f1be03804d42b781ae318b8319e74c5bccee22680433e4c5fcacb050bc5'),
    (1, 'val', 2): ('indoor',
        'bb63b5c17da7069989f47ff424591503270e2b85fb5a96cdf63cfe581657467d',
        '42f44602df804d81ecc88afa27f454b62056896069f46ed0899b3f49bb1cbf17'),
}
PINNED_FILES = {   # seed: {file: sha256} of generate(num_train=2, num_val=1, size=48)
    0: {
        'ann_dir/train/00000.png':
            'd1da0c0d9ef3ff504c2d167df58bc3aa4ff3c2a70ef08405c51e625928a13be5',
        'ann_dir/train/00001.png':
            '513edd6984f89a289afc2d8f9de481bb3199373a84ef459f7f7267aab5f109ca',
        'ann_dir/val/00000.png':
            '11d31ff272c8abd23a2337ffb370489a78d9eedf76ced317db594506ecc38a92',
        'img_dir/train/00000.png':
            '970718f81375def6ea0bb1df4cbe3e51f81a8fd620dd3b9480fc86853763c3c3',
        'img_dir/train/00001.png':
            '410545482a253933d5eca3244f3e8cba0913786eca1eeefed11cf4ed8791c69c',
        'img_dir/val/00000.png':
            '06f41999f87d8629ea4f5982fd1e51c67e2696e28cff86205ac52e3c993c138a',
        'synthscenes.json':
            '80ac7baff51c4771a3410ecf9cbbf6af1c09a3bb527a80570cd9fe92dfba492c',
    },
    1: {
        'ann_dir/train/00000.png':
            '447cb65bc6d6d3450c0d44348cc8f9e639b8751ca4769777972a7d9397948ff6',
        'ann_dir/train/00001.png':
            'bc77b71c0418cad2e316cc1731ca407751b2fbef29d698c21b2cd935f752e8d3',
        'ann_dir/val/00000.png':
            'ce41ca1b5933b726495e1f6d28e76b88bd1d7793627a457abac13679e70a40b6',
        'img_dir/train/00000.png':
            '38eaef47b44ea173450b2825208bdf60921772bdb41211eea4cbef0f240506e3',
        'img_dir/train/00001.png':
            '56ddcba63590065214a7ca9a48f458f59dec43316e31373f07cf2f0b07a5e92e',
        'img_dir/val/00000.png':
            '0f9fc9c670943c79d321385720a82b60800ec728ca281aad2e66a39738c61746',
        'synthscenes.json':
            '1271dafb8b9212229358c199eee5b87bd683f02bdf0322bbf75aa31b12989d21',
    },
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_pinned_scenes_are_unchanged():
    # The pins cover both layouts: the scene's first draw picks outdoor with p = 0.6.
    kinds = {'outdoor' if np.random.default_rng([s, synthscenes.SPLITS[sp], i]).random() < 0.6
             else 'indoor' for s, sp, i in PINNED_SCENES}
    assert kinds == {'outdoor', 'indoor'}
    for (seed, split, index), (kind, image_sha, label_sha) in PINNED_SCENES.items():
        first = np.random.default_rng([seed, synthscenes.SPLITS[split], index]).random()
        assert (first < 0.6) == (kind == 'outdoor')
        image, label = render_scene(synthscenes.image_rng(seed, split, index), 64)
        assert image.shape == (64, 64, 3) and label.shape == (64, 64)
        assert _sha256(image.tobytes()) == image_sha, (seed, split, index)
        assert _sha256(label.tobytes()) == label_sha, (seed, split, index)


@pytest.mark.parametrize('seed', sorted(PINNED_FILES))
def test_pinned_files_are_unchanged(tmp_path, seed):
    generate(tmp_path, seed=seed, num_train=2, num_val=1, size=48, progress=False)
    assert _digests(tmp_path) == PINNED_FILES[seed]


def test_written_files_round_trip(tmp_path):
    generate(tmp_path, seed=5, num_train=2, num_val=1, size=64, progress=False)
    image, label = render_scene(synthscenes.image_rng(5, 'train', 1), 64)
    written_image = cv2.imread(str(tmp_path / 'img_dir/train/00001.png'), cv2.IMREAD_UNCHANGED)
    written_label = cv2.imread(str(tmp_path / 'ann_dir/train/00001.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(written_image[..., ::-1], image)          # files are RGB
    assert written_label.ndim == 2 and written_label.dtype == np.uint8
    assert np.array_equal(written_label, label)
    assert (tmp_path / 'synthscenes.json').is_file()


def test_generate_refuses_stale_images(tmp_path):
    generate(tmp_path, seed=0, num_train=3, num_val=1, size=32, progress=False)
    with pytest.raises(FileExistsError):
        generate(tmp_path, seed=0, num_train=2, num_val=1, size=32, progress=False)
    generate(tmp_path, seed=0, num_train=2, num_val=1, size=32, progress=False, overwrite=True)
    assert sorted(p.name for p in (tmp_path / 'img_dir/train').iterdir()) == \
        ['00000.png', '00001.png']
    assert sorted(p.name for p in (tmp_path / 'ann_dir/train').iterdir()) == \
        ['00000.png', '00001.png']


def test_generator_cli(tmp_path, capsys):
    assert synthscenes.main(['--out', str(tmp_path), '--seed', '3', '--num-train', '2',
                             '--num-val', '1', '--size', '48', '--no-progress']) == 0
    assert len(list((tmp_path / 'img_dir/train').glob('*.png'))) == 2
    assert len(list((tmp_path / 'ann_dir/val').glob('*.png'))) == 1
    with pytest.raises(SystemExit):
        synthscenes.main(['--out', str(tmp_path), '--num-train', '-1'])


# ---------------------------------------------------------------------------------------
# mmsegmentation data set
# ---------------------------------------------------------------------------------------
def test_dataset_loads_through_mmseg_pipeline(tmp_path):
    pytest.importorskip('mmseg')
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import ssa_seg  # noqa: F401

    generate(tmp_path, seed=0, num_train=3, num_val=2, size=64, progress=False)
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(
        type='SynthScenesDataset', data_root=str(tmp_path),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    assert len(dataset) == 2
    assert tuple(dataset.metainfo['classes']) == CLASSES
    assert [list(c) for c in dataset.metainfo['palette']] == PALETTE
    assert dataset.metainfo['reduce_zero_label'] is False
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    gt = sample['data_samples'].gt_sem_seg.data.numpy()
    assert gt.shape == (1, 64, 64)
    _, label = render_scene(synthscenes.image_rng(0, 'val', 1), 64)
    assert np.array_equal(gt[0], label)
    image = sample['inputs'].numpy().transpose(1, 2, 0)              # BGR, as mmseg loads it
    assert np.array_equal(image[..., ::-1], render_scene(synthscenes.image_rng(0, 'val', 1), 64)[0])


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------
TINY_CONFIG = '''
default_scope = 'mmseg'
custom_imports = dict(imports=['ssa_seg'], allow_failed_imports=False)
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
data_root = {data_root!r}
crop_size = (64, 64)
data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                         seg_pad_val=255, size=crop_size)
model = dict(
    type='EncoderDecoder', data_preprocessor=data_preprocessor,
    backbone=dict(type='MixVisionTransformer', in_channels=3, embed_dims=16, num_stages=4,
                  num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
                  sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4,
                  qkv_bias=True),
    decode_head=dict(type='SegformerHead', in_channels=[16, 32, 80, 128],
                     in_index=[0, 1, 2, 3], channels=64, dropout_ratio=0.1, num_classes=10,
                     norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='PackSegInputs')]
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SynthScenesDataset', data_root=data_root,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SynthScenesDataset', data_root=data_root,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
log_level = 'WARNING'
load_from = None
resume = False
'''


@pytest.fixture
def tiny_setup(tmp_path):
    """A tiny generated set, a config for it, and a random tiny model's checkpoint."""
    pytest.importorskip('mmseg')
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import ssa_seg  # noqa: F401

    data = tmp_path / 'data'
    generate(data, seed=11, num_train=4, num_val=3, size=64, progress=False)
    config = tmp_path / 'tiny_synthscenes.py'
    # The config points at a folder that does not exist: --data-root must override it.
    config.write_text(TINY_CONFIG.format(data_root=str(tmp_path / 'missing')))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    return dict(data=data, config=config, checkpoint=checkpoint, tmp=tmp_path)


@pytest.mark.slow
def test_test_cli_prints_table_and_miou_last(tiny_setup, capsys):
    from ssa_seg import test as ssa_test

    work_dir = tiny_setup['tmp'] / 'work'
    results = ssa_test.main([str(tiny_setup['config']), str(tiny_setup['checkpoint']),
                             '--data-root', str(tiny_setup['data']),
                             '--work-dir', str(work_dir)])
    out = capsys.readouterr().out
    lines = out.rstrip('\n').splitlines()
    assert re.fullmatch(r'mIoU: (\d+\.\d\d|nan)', lines[-1]), lines[-1]
    assert lines[-1] == f'mIoU: {results["mIoU"]:.2f}'
    header = next(line for line in lines if 'Class' in line)
    assert 'IoU' in header and 'Acc' in header
    for name in CLASSES:
        row = next(line for line in lines if re.match(rf'\| {name} +\|', line))
        cells = [c.strip() for c in row.strip('|').split('|')]
        assert len(cells) == 3 and all(re.fullmatch(r'\d+\.\d\d|nan', c) for c in cells[1:])
    assert results['num_images'] == 3
    assert set(results['per_class']) == set(CLASSES)
    assert (work_dir / 'test_results.json').is_file()


@pytest.mark.slow
def test_evaluate_function_and_max_images(tiny_setup):
    import torch

    from ssa_seg.apis import init_model
    from ssa_seg.evaluation import evaluate

    model = init_model(str(tiny_setup['config']), str(tiny_setup['checkpoint']))
    full = evaluate(model, data_root=str(tiny_setup['data']))
    part = evaluate(model, str(tiny_setup['config']), data_root=str(tiny_setup['data']),
                    max_images=2)
    assert full['num_images'] == 3 and part['num_images'] == 2
    for results in (full, part):
        assert list(results['per_class']) == list(CLASSES)
        assert 0.0 <= results['mIoU'] <= 100.0 and 0.0 <= results['aAcc'] <= 100.0
        ious = np.array(list(results['per_class'].values()))
        assert np.isclose(results['mIoU'], np.nanmean(ious))
    # a perfect model scores 100: evaluate against labels predicted from the labels
    assert not model.training

    class Oracle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def test_step(self, batch):
            from mmengine.structures import PixelData
            samples = batch['data_samples']
            for s in samples:
                s.pred_sem_seg = PixelData(data=s.gt_sem_seg.data.clone())
            return samples

    perfect = evaluate(Oracle(), str(tiny_setup['config']), data_root=str(tiny_setup['data']))
    assert perfect['mIoU'] == pytest.approx(100.0) and perfect['aAcc'] == pytest.approx(100.0)


def test_test_cli_rejects_missing_files(tiny_setup):
    from ssa_seg import test as ssa_test

    with pytest.raises(SystemExit, match='config file not found'):
        ssa_test.main([str(tiny_setup['tmp'] / 'nope.py'), str(tiny_setup['checkpoint'])])
    with pytest.raises(SystemExit, match='checkpoint file not found'):
        ssa_test.main([str(tiny_setup['config']), str(tiny_setup['tmp'] / 'nope.pth')])
    bad = tiny_setup['tmp'] / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(SystemExit, match='error:'):
        ssa_test.main([str(tiny_setup['config']), str(bad),
                       '--data-root', str(tiny_setup['data'])])


def _train(setup, *options, resume=False):
    from ssa_seg import train as ssa_train

    data_root = str(setup['data'])
    ssa_train.main([str(setup['config']), '--work-dir', str(setup['tmp'] / 'train'),
                    *(['--resume'] if resume else []),
                    '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
                    f'val_dataloader.dataset.data_root={data_root}', *options])
    return setup['tmp'] / 'train'


@pytest.mark.slow
def test_train_cli_trains(tiny_setup):
    from ssa_seg import train as ssa_train

    work_dir = _train(tiny_setup)
    assert (work_dir / 'iter_2.pth').is_file()
    with pytest.raises(SystemExit, match='config file not found'):
        ssa_train.main([str(tiny_setup['tmp'] / 'nope.py')])


@pytest.mark.slow
def test_train_cli_resumes(tiny_setup):
    """--resume reads a Runner checkpoint (optimizer, message hub) with weights_only=True."""
    import torch

    work_dir = _train(tiny_setup)
    first = torch.load(work_dir / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert first['meta']['iter'] == 2
    _train(tiny_setup, 'train_cfg.max_iters=4', resume=True)
    resumed = torch.load(work_dir / 'iter_4.pth', map_location='cpu', weights_only=True)
    assert resumed['meta']['iter'] == 4
