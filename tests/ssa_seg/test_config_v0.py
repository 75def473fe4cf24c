"""mmsegmentation 0.x configs (the reference SSA-Seg's format) open through ``load_config``.

The 0.x configs are in ``tests/configs_v0`` (written from the reference configs' keys and
values). Models mmsegmentation 1.x has are built from the translated config and checked
against the reference fixtures; the other families' translations are compared with model
dicts written out by hand.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from reference_fixtures import assert_matches_fixture, make_checkpoint, reference_logits

from ssa_seg.apis import _dataset_meta, inference_model, init_model, load_config
from ssa_seg.checkpoint import load_weights
from ssa_seg.config_v0 import (
    ConfigTranslationError,
    is_v0_config,
    missing_pretrained,
    strip_pretrained,
    translate_config,
    translate_pipeline,
)
from ssa_seg.zoo import REPO_ROOT

V0 = Path(__file__).parents[1] / 'configs_v0'
NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
BN = dict(type='BN', requires_grad=True)
GN = dict(type='GN', num_groups=32, requires_grad=True)
CE = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)


def plain(value):
    """Tuples as lists, ConfigDicts as dicts: compare content, not container types."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    return json.loads(json.dumps(value))


def preprocessor(size):
    return dict(type='SegDataPreProcessor', **NORM, bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
                size=list(size))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------------------------
# Recognition and the parts of a config
# ---------------------------------------------------------------------------------------
def test_recognises_v0_by_content():
    assert is_v0_config(Config.fromfile(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k.py'))
    project = REPO_ROOT / 'ssa_seg/configs/ade20k/segformer_mit-b0_ssa_512x512_160k_ade20k.py'
    assert not is_v0_config(Config.fromfile(project))
    # A 1.x config goes through load_config unchanged.
    assert load_config(project).to_dict() == Config.fromfile(project).to_dict()


def test_test_pipeline_becomes_1x():
    cfg = load_config(V0 / 'swin/upernet_swin_tiny_4x4_80k_pc_ssa.py')
    # MultiScaleFlipAug(img_scale, flip=False, [Resize(keep_ratio), RandomFlip, Normalize,
    # ImageToTensor, Collect]) -> Resize + LoadAnnotations (the set has ann_dir) + PackSegInputs
    expected = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=[520, 520], keep_ratio=True),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    for key in ('val_dataloader', 'test_dataloader'):
        assert plain(cfg[key].dataset.pipeline) == expected
    ade = load_config(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py')
    assert plain(ade.test_dataloader.dataset.pipeline) == [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=[2048, 512], keep_ratio=True),
        dict(type='ResizeToMultiple', size_divisor=32),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')]
    assert plain(ade.train_dataloader.dataset.pipeline) == [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=[2048, 512], ratio_range=[0.5, 2.0], keep_ratio=True),
        dict(type='RandomCrop', crop_size=[512, 512], cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs')]
    # COCO-Stuff sets say reduce_zero_label themselves; the annotations loader follows.
    coco = load_config(V0 / 'segformer/segformer_mit-b5_512x512_80k_coco10k_ssa.py')
    assert plain(coco.test_dataloader.dataset.pipeline)[2] == dict(type='LoadAnnotations',
                                                                   reduce_zero_label=True)


def test_pipeline_without_annotations_and_with_tta():
    msfa = dict(type='MultiScaleFlipAug', img_scale=(2048, 512), img_ratios=[0.5, 1.0],
                flip=True, transforms=[dict(type='Resize', keep_ratio=True),
                                       dict(type='RandomFlip'),
                                       dict(type='Normalize', **NORM, to_rgb=True),
                                       dict(type='ImageToTensor', keys=['img']),
                                       dict(type='Collect', keys=['img'])])
    pipeline = [dict(type='LoadImageFromFile'), msfa]
    assert plain(translate_pipeline(pipeline)) == [
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=[2048, 512], keep_ratio=True),
        dict(type='PackSegInputs')]
    cfg = Config.fromfile(V0 / 'swin/upernet_swin_tiny_ade20k_ssa.py').to_dict()
    cfg['data']['test']['pipeline'] = pipeline
    out = translate_config(cfg)
    assert out['tta_model'] == dict(type='SegTTAModel')
    steps = out['tta_pipeline'][1]['transforms']
    assert [t['scale'] for t in steps[0]] == [(1024, 256), (2048, 512)]   # img_scale x ratio
    assert [t['prob'] for t in steps[1]] == [0.0, 1.0]
    assert steps[2] == [dict(type='LoadAnnotations')]


def test_data_schedule_and_runtime():
    cfg = load_config(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py')
    assert cfg.default_scope == 'mmseg' and 'ssa_seg' in cfg.custom_imports.imports
    assert plain(cfg.model.data_preprocessor) == preprocessor((512, 512))
    train = cfg.train_dataloader
    assert (train.batch_size, train.num_workers) == (4, 4)
    assert train.sampler.type == 'InfiniteSampler'
    assert plain(train.dataset) == dict(
        type='ADE20KDataset', data_root='data/ade/ADEChallengeData2016',
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        pipeline=plain(train.dataset.pipeline))
    assert cfg.val_dataloader.batch_size == 1
    assert cfg.val_dataloader.dataset.data_prefix.img_path == 'images/validation'
    assert plain(cfg.optim_wrapper) == dict(
        type='OptimWrapper', clip_grad=None,
        optimizer=dict(type='AdamW', lr=6e-5, betas=[0.9, 0.999], weight_decay=0.01),
        paramwise_cfg=dict(custom_keys=dict(pos_block=dict(decay_mult=0.0),
                                            norm=dict(decay_mult=0.0),
                                            head=dict(lr_mult=10.0))))
    assert plain(cfg.param_scheduler) == [
        dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
        dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False)]
    assert plain(cfg.train_cfg) == dict(type='IterBasedTrainLoop', max_iters=160000,
                                        val_interval=8000)
    assert cfg.val_cfg.type == 'ValLoop' and cfg.test_cfg.type == 'TestLoop'
    for key in ('val_evaluator', 'test_evaluator'):
        assert plain(cfg[key]) == dict(type='IoUMetric', iou_metrics=['mIoU'])
    assert cfg.default_hooks.checkpoint.interval == 8000
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.default_hooks.logger.interval == 50
    assert cfg.env_cfg.cudnn_benchmark is True and cfg.env_cfg.dist_cfg.backend == 'nccl'
    for dropped in ('data', 'evaluation', 'runner', 'lr_config', 'optimizer_config',
                    'workflow', 'img_norm_cfg', 'log_config', 'checkpoint_config'):
        assert dropped not in cfg
    # The 0.x schedule base (SGD, poly 0.9) when the config does not replace it.
    ocr = load_config(V0 / 'ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py')
    assert plain(ocr.optim_wrapper.optimizer) == dict(type='SGD', lr=0.01, momentum=0.9,
                                                      weight_decay=0.0005)
    assert plain(ocr.param_scheduler) == [
        dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)]


def test_overrides_in_either_format():
    config = V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py'
    cfg = load_config(config, {'data.samples_per_gpu': 2, 'runner.max_iters': 1000,
                               'train_cfg.val_interval': 500,
                               'model.decode_head.num_classes': 19})
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_cfg.max_iters == 1000 and cfg.train_cfg.val_interval == 500
    assert cfg.param_scheduler[1].end == 1000
    assert cfg.model.decode_head.num_classes == 19 and 'data' not in cfg and 'runner' not in cfg


def test_schedule_and_hook_variants():
    cfg = Config.fromfile(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py').to_dict()
    cfg.update(
        optimizer=dict(type='AdamW', lr=2e-5, constructor='LayerDecayOptimizerConstructor',
                       paramwise_cfg=dict(num_layers=24, layer_decay_rate=0.9)),
        optimizer_config=dict(grad_clip=dict(max_norm=1.0)),
        lr_config=dict(policy='step', step=[8, 11], warmup='constant', warmup_iters=100,
                       warmup_ratio=0.1, by_epoch=True),
        runner=dict(type='EpochBasedRunner', max_epochs=12),
        evaluation=dict(interval=1, metric=['mIoU', 'mDice'], save_best='mIoU'),
        log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook'),
                                            dict(type='TensorboardLoggerHook')]),
        resume_from='work/latest.pth', seed=3)
    out = translate_config(cfg)
    assert out['optim_wrapper'] == dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-5),
        clip_grad=dict(max_norm=1.0), paramwise_cfg=dict(num_layers=24, layer_decay_rate=0.9),
        constructor='LayerDecayOptimizerConstructor')
    assert out['param_scheduler'] == [
        dict(type='ConstantLR', factor=0.1, by_epoch=False, begin=0, end=100),
        dict(type='MultiStepLR', milestones=[8, 11], gamma=0.1, begin=0, end=12,
             by_epoch=True)]
    assert out['train_cfg'] == dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
    assert out['train_dataloader']['sampler']['type'] == 'DefaultSampler'
    assert out['val_evaluator'] == dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
    hooks = out['default_hooks']
    assert hooks['checkpoint']['save_best'] == 'mIoU'
    assert hooks['logger']['interval'] == 10
    assert {'type': 'TensorboardVisBackend'} in out['visualizer']['vis_backends']
    assert (out['load_from'], out['resume']) == ('work/latest.pth', True)
    assert out['randomness']['seed'] == 3
    cfg['lr_config'] = dict(policy='CosineRestart', periods=[10])
    with pytest.raises(ConfigTranslationError, match="'periods'"):
        translate_config(cfg)
    cfg['lr_config'] = dict(policy='CosineRestart')
    with pytest.raises(ConfigTranslationError, match="'CosineRestart'"):
        translate_config(cfg)


def test_sync_bn_becomes_bn_everywhere():
    for name in ('ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py',
                 'swin/upernet_swin_tiny_ade20k_ssa.py',
                 'segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py'):
        cfg = load_config(V0 / name)
        assert 'SyncBN' not in json.dumps(plain(cfg.to_dict())), name
        assert cfg.sync_bn == 'torch'   # a distributed run converts back
    ocr = load_config(V0 / 'ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py')
    assert ocr.model.backbone.norm_cfg.type == 'BN'
    assert [h.norm_cfg.type for h in ocr.model.decode_head] == ['BN', 'BN']
    assert ocr.norm_cfg.type == 'BN'



def test_reference_types_renamed_at_any_depth():
    """MSCAN (the reference's key layout) becomes MSCANRef wherever it is, in lists and tuples
    too, as SyncBN becomes BN; other types are untouched."""
    cfg = Config.fromfile(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py').to_dict()
    cfg['model']['backbone']['type'] = 'MSCAN'
    cfg['model']['auxiliary_head'] = (dict(type='MSCAN', norm_cfg=dict(type='SyncBN')),
                                      [dict(type='FCNHead')])
    model = translate_config(cfg)['model']
    assert model['backbone']['type'] == 'MSCANRef'
    assert model['auxiliary_head'] == (dict(type='MSCANRef', norm_cfg=dict(type='BN')),
                                       [dict(type='FCNHead')])

def test_slide_inference_kept():
    cfg = load_config(V0 / 'swin/upernet_swin_tiny_4x4_80k_pc_ssa.py')
    assert plain(cfg.model.test_cfg) == dict(mode='slide', crop_size=[480, 480],
                                             stride=[320, 320])
    assert plain(cfg.model.data_preprocessor) == preprocessor((480, 480))
    assert cfg.train_dataloader.dataset.ann_file == 'ImageSets/SegmentationContext/train.txt'
    assert cfg.model.decode_head.num_classes == 59


@pytest.mark.parametrize('name,kind,count,first', [
    ('segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py', 'ADE20KDataset', 150,
     ['wall', 'building', 'sky']),
    ('segformer/segformer_mit-b5_512x512_80k_coco10k_ssa.py', 'COCOStuffDataset', 171,
     ['person', 'bicycle', 'car']),
    ('swin/upernet_swin_tiny_4x4_80k_pc_ssa.py', 'PascalContextDataset59', 59,
     ['aeroplane', 'bag', 'bed']),
])
def test_class_names_from_the_dataset_type(name, kind, count, first):
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')
    cfg = load_config(V0 / name)
    assert cfg.test_dataloader.dataset.type == kind
    assert cfg.model.decode_head.num_classes == count   # the reference's class count
    meta = _dataset_meta(cfg, {}, count)
    assert len(meta['classes']) == count and list(meta['classes'][:3]) == first
    assert len(meta['palette']) == count


# ---------------------------------------------------------------------------------------
# Errors: nothing unknown is dropped silently
# ---------------------------------------------------------------------------------------
def test_unknown_top_level_key_is_named(tmp_path):
    base = V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py'
    path = write(tmp_path, 'extra.py', f"_base_ = ['{base}']\nmy_fancy_option = 3\n")
    with pytest.raises(ConfigTranslationError, match='my_fancy_option'):
        load_config(path)


def test_unknown_transform_is_named(tmp_path):
    base = V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py'
    path = write(tmp_path, 'transform.py', f"""_base_ = ['{base}']
data = dict(train=dict(pipeline=[dict(type='LoadImageFromFile'), dict(type='MyCutMix')]))
""")
    with pytest.raises(ConfigTranslationError, match=r"data\.train\.pipeline\[1\].*'MyCutMix'"):
        load_config(path)


def test_unknown_arguments_and_dataset_types_are_named(tmp_path):
    base = V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py'
    resize = write(tmp_path, 'resize.py', f"""_base_ = ['{base}']
data = dict(train=dict(pipeline=[dict(type='Resize', img_scale=(64, 64), min_size=32)]))
""")
    with pytest.raises(ConfigTranslationError, match="'min_size'"):
        load_config(resize)
    dataset = write(tmp_path, 'dataset.py', f"""_base_ = ['{base}']
data = dict(test=dict(type='MyOwnDataset'))
""")
    with pytest.raises(ConfigTranslationError, match="'MyOwnDataset'"):
        load_config(dataset)
    with pytest.raises(SystemExit, match="MyOwnDataset"):   # the CLIs print the message
        from ssa_seg.runner_cli import config_or_exit
        config_or_exit(dataset)


# ---------------------------------------------------------------------------------------
# The converter CLI
# ---------------------------------------------------------------------------------------
def test_convert_config_writes_a_1x_file(tmp_path, capsys):
    from ssa_seg import convert_config

    ref = V0 / 'ocrnet/ocrnet_hr48_512x512_160k_ade20k_ssa.py'
    out = tmp_path / 'out' / 'ocrnet_ssa_1x.py'
    convert_config.main([str(ref), str(out)])
    assert 'translated 0.x -> 1.x' in capsys.readouterr().out
    written = Config.fromfile(out)
    assert not is_v0_config(written)
    assert plain(written.model) == plain(load_config(ref).model)
    assert plain(load_config(out).to_dict()) == plain(written.to_dict())
    with pytest.raises(SystemExit, match='config file not found'):
        convert_config.main(['missing.py', str(out)])
    bad = write(tmp_path, 'bad.py', f"_base_ = ['{ref}']\nunknown_thing = 1\n")
    with pytest.raises(SystemExit, match='unknown_thing'):
        convert_config.main([bad, str(tmp_path / 'bad_1x.py')])


@pytest.mark.slow
def test_convert_config_command_line(tmp_path):
    ref = V0 / 'swin/upernet_swin_tiny_4x4_80k_pc_ssa.py'
    out = tmp_path / 'swin_pc_1x.py'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    run = subprocess.run([sys.executable, '-m', 'ssa_seg.convert_config', str(ref), str(out)],
                         cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert plain(Config.fromfile(out).model) == plain(load_config(ref).model)


# ---------------------------------------------------------------------------------------
# Pretrained (ImageNet) weights the user does not have
# ---------------------------------------------------------------------------------------
def test_pretrained_kept_ignored_by_init_model_and_named_by_train(tmp_path, monkeypatch):
    seg = load_config(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py')
    assert seg.model.pretrained == 'ckpts/mit_b5_20220624-658746d9.pth'
    swin = load_config(V0 / 'swin/upernet_swin_tiny_ade20k_ssa.py')
    swin_ckpt = 'ckpts/swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'
    assert plain(swin.model.backbone.init_cfg) == dict(type='Pretrained', checkpoint=swin_ckpt)
    assert missing_pretrained(swin.model.to_dict()) == [
        ('model.backbone.init_cfg.checkpoint', swin_ckpt)]
    stripped = strip_pretrained(swin.model.to_dict())
    assert stripped['backbone']['init_cfg'] is None and missing_pretrained(stripped) == []

    from ssa_seg import train
    monkeypatch.chdir(tmp_path)
    config = str(V0 / 'swin/upernet_swin_tiny_ade20k_ssa.py')
    with pytest.raises(SystemExit, match='swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'):
        train.main([config, '--work-dir', str(tmp_path / 'work')])
    # Starting from a full checkpoint, the ImageNet weights are not needed.
    cfg = load_config(config, dict(load_from='full.pth'))
    cfg.work_dir = str(tmp_path / 'work')
    train.check_pretrained(cfg)
    assert cfg.model.backbone.init_cfg is None


def test_train_and_test_entry_points_use_load_config(tmp_path, monkeypatch):
    """``python -m ssa_seg.train`` hands the translated config to the Runner; ``ssa_seg.test``
    reads its config through the same loader."""
    import mmengine.runner

    from ssa_seg import test as test_cli
    from ssa_seg import train

    seen = {}

    def fake_from_cfg(cfg):
        seen['cfg'] = cfg
        raise RuntimeError('stop here')

    monkeypatch.setattr(mmengine.runner.Runner, 'from_cfg', staticmethod(fake_from_cfg))
    config = str(V0 / 'tiny/segformer_tiny_ssa_ade20k.py')
    with pytest.raises(RuntimeError, match='stop here'):
        train.main([config, '--work-dir', str(tmp_path)])
    assert 'train_dataloader' in seen['cfg'] and 'data' not in seen['cfg']
    # ssa_seg.test reads its config with the same loader (the CLI run is tested below).
    assert 'config_or_exit(args.config' in Path(test_cli.__file__).read_text()


# ---------------------------------------------------------------------------------------
# Models: every reference fixture, built from a 0.x config file opened directly
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('config,fixture', [
    (f'{family}/{name}.py', name) for family, name in [
        ('segformer', 'segformer_mit-b5_512x512_160k_ade20k_ssa'),
        ('swin', 'upernet_swin_tiny_ade20k_ssa'),
        ('ocrnet', 'ocrnet_hr48_512x512_160k_ade20k_ssa'),
        ('seaformer', 'seaformer_large_512x512_160k_4x4_ade20k'),
        ('seaformer', 'seaformer_large_512x512_160k_4x4_ade20k_ssa'),
        ('afformer', 'afformer_base_ade20k'),
        ('afformer', 'afformer_base_ade20k_ssa'),
        ('cgrseg', 'cgrseg-b_ade20k_160k'),
        ('cgrseg', 'cgrseg-b_ade20k_160k_ssa'),
        ('segnext', 'segnext_tiny_512x512_160k_4x4_ade20k'),
        ('segnext', 'segnext_tiny_512x512_160k_4x4_ade20k_ssa'),
    ]])
def test_translated_config_matches_reference_fixture(config, fixture, tmp_path):
    torch.save(make_checkpoint(fixture), tmp_path / 'ref.pth')
    model = init_model(str(V0 / config))   # a 0.x file, opened directly
    assert model.data_preprocessor is not None
    load_weights(model, tmp_path / 'ref.pth')   # strict (training-only keys named, ignored)
    model.eval()
    result = assert_matches_fixture(reference_logits(model, 0, (256, 256)), fixture)
    print(fixture, result)


# ---------------------------------------------------------------------------------------
# The ported families: the translated model dict against one written by hand
# ---------------------------------------------------------------------------------------
ADE_PRE = preprocessor((512, 512))
EXPECTED_MODELS = {
    'seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py': dict(
        type='EncoderDecoder', data_preprocessor=ADE_PRE,
        backbone=dict(
            type='SeaFormer',
            cfgs=[[[3, 3, 32, 1], [3, 4, 64, 2], [3, 4, 64, 1]],
                  [[5, 4, 128, 2], [5, 4, 128, 1]],
                  [[3, 4, 192, 2], [3, 4, 192, 1]],
                  [[5, 4, 256, 2]],
                  [[3, 6, 320, 2]]],
            channels=[32, 64, 128, 192, 256, 320], key_dims=[16, 20, 24], mlp_ratios=[2, 4, 6],
            emb_dims=[192, 256, 320], depths=[3, 3, 3], num_heads=8, drop_path_rate=0.1,
            norm_cfg=BN,
            init_cfg=dict(type='Pretrained', checkpoint='ckpts/SeaFormer_L_cls_79.9.pth')),
        decode_head=dict(
            type='LightHead_ssa', in_channels=[128, 192, 256, 320], in_index=[0, 1, 2, 3],
            channels=192, dropout_ratio=0.1, embed_dims=[128, 160, 192], num_classes=150,
            is_dw=True, norm_cfg=BN, align_corners=False, loss_decode=CE),
        train_cfg=dict(), test_cfg=dict(mode='whole')),
    'afformer/afformer_base_ade20k_ssa.py': dict(
        type='EncoderDecoder', data_preprocessor=ADE_PRE,
        pretrained='ckpts/AFFormer_base_ImageNet1k_new.pth',
        backbone=dict(type='afformer_base', strides=[4, 2, 2, 2]),
        decode_head=dict(
            type='CLS_ssa', in_channels=[216], in_index=[3], channels=256, aff_channels=256,
            aff_kwargs=dict(MD_R=16), dropout_ratio=0.1, num_classes=150, norm_cfg=GN,
            align_corners=False, loss_decode=CE),
        train_cfg=dict(), test_cfg=dict(mode='whole')),
    'cgrseg/cgrseg-b_ade20k_160k_ssa.py': dict(
        type='EncoderDecoder', data_preprocessor=ADE_PRE,
        backbone=dict(type='efficientformerv2_s2_feat', style='pytorch',
                      init_cfg=dict(type='Pretrained', checkpoint='ckpts/eformer_s2_450.pth')),
        decode_head=dict(
            type='CGRSeg_ssa', in_channels=[64, 144, 288], in_index=[1, 2, 3], channels=256,
            dropout_ratio=0.1, num_classes=150, is_dw=True, dw_size=11, neck_size=11,
            next_repeat=6, square_kernel_size=3, ratio=1, module='RCA', norm_cfg=BN,
            align_corners=False, loss_decode=CE),
        train_cfg=dict(), test_cfg=dict(mode='whole')),
    'segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py': dict(
        type='EncoderDecoder', data_preprocessor=ADE_PRE, pretrained=None,
        backbone=dict(
            type='MSCANRef', embed_dims=[32, 64, 160, 256], mlp_ratios=[8, 8, 4, 4], drop_rate=0.0,
            drop_path_rate=0.1, depths=[3, 3, 5, 2], norm_cfg=BN,
            init_cfg=dict(type='Pretrained', checkpoint='ckpts/mscan_t_20230227-119e8c9f.pth')),
        decode_head=dict(
            type='LightHamHead_ssa', in_channels=[64, 160, 256], in_index=[1, 2, 3],
            channels=256, ham_channels=256, ham_kwargs=dict(MD_R=16), dropout_ratio=0.1,
            num_classes=150, norm_cfg=GN, align_corners=False, loss_decode=CE),
        train_cfg=dict(), test_cfg=dict(mode='whole')),
}


@pytest.mark.parametrize('name', sorted(EXPECTED_MODELS))
def test_other_families_translate_to_the_expected_model(name):
    cfg = load_config(V0 / name)
    assert plain(cfg.model) == plain(EXPECTED_MODELS[name])
    assert cfg.train_cfg.max_iters == 160000
    assert cfg.val_dataloader.dataset.type == 'ADE20KDataset'


def test_segnext_repeat_dataset_and_find_unused_parameters():
    cfg = load_config(V0 / 'segnext/segnext_tiny_512x512_160k_4x4_ade20k_ssa.py')
    train = cfg.train_dataloader.dataset
    assert train.type == 'RepeatDataset' and train.times == 50
    assert train.dataset.type == 'ADE20KDataset'
    assert train.dataset.pipeline[-1].type == 'PackSegInputs'
    assert cfg.find_unused_parameters is True
    assert plain(cfg.param_scheduler)[1]['end'] == 160000


# ---------------------------------------------------------------------------------------
# Inference and evaluation through a translated config
# ---------------------------------------------------------------------------------------
def test_inference_with_a_translated_config(rng_image):
    torch.manual_seed(0)
    model = init_model(str(V0 / 'tiny/segformer_tiny_ssa_ade20k.py'))
    result = inference_model(model, rng_image)   # 48 x 64 RGB
    assert tuple(result.pred_sem_seg.data.shape) == (1, 48, 64)
    assert tuple(result.seg_logits.data.shape) == (150, 48, 64)
    assert model.dataset_meta['classes'][:2] == ('wall', 'building')
    # The 0.x test pipeline's scale: (128, 64) with the aspect kept -> 64 x 85.
    assert tuple(result.img_shape) == (64, 85)


def make_ade_tree(root, size=(40, 56)):
    """Two images per split in ADE20K's layout (jpg images, png labels 0..4)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ('training', 'validation'):
        (root / 'images' / split).mkdir(parents=True)
        (root / 'annotations' / split).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
                root / 'images' / split / f'img{i}.jpg')
            Image.fromarray(rng.integers(0, 5, size, dtype=np.uint8)).save(
                root / 'annotations' / split / f'img{i}.png')
    return str(root)


def test_evaluate_cli_with_a_translated_config(tmp_path):
    """``python -m ssa_seg.test`` on a 0.x config and a small ADE20K-layout data set."""
    from ssa_seg import test as test_cli
    from ssa_seg.checkpoint import save_weights

    root = make_ade_tree(tmp_path / 'ade')
    config = str(V0 / 'tiny/segformer_tiny_ssa_ade20k.py')
    torch.manual_seed(0)
    save_weights(init_model(config), tmp_path / 'tiny.pth')
    results = test_cli.main([config, str(tmp_path / 'tiny.pth'), '--data-root', root])
    assert results['num_images'] == 2
    assert 0.0 <= results['mIoU'] <= 100.0


def test_training_batch_size_follows_the_pipeline():
    """The preprocessor pads training batches to what 0.x padded to (Pad size), even when a
    child config redefines the crop_size variable without rebuilding the pipeline."""
    base = Config.fromfile(V0 / 'segformer/segformer_mit-b5_512x512_160k_ade20k_ssa.py').to_dict()
    base['crop_size'] = (64, 64)
    assert translate_config(base)['model']['data_preprocessor']['size'] == (512, 512)
    tiny = load_config(V0 / 'tiny/segformer_tiny_ssa_ade20k.py')
    assert tuple(tiny.model.data_preprocessor.size) == (64, 64)


@pytest.mark.slow
def test_train_a_translated_config(tmp_path):
    """``python -m ssa_seg.train`` runs a 0.x config: 4 iterations, validation every 2."""
    from ssa_seg import train

    root = make_ade_tree(tmp_path / 'ade', size=(80, 96))
    options = ['train_cfg.max_iters=4', 'train_cfg.val_interval=2'] + [
        f'{key}.dataset.data_root={root}' for key in ('train_dataloader', 'val_dataloader',
                                                      'test_dataloader')]
    train.main([str(V0 / 'tiny/segformer_tiny_ssa_ade20k.py'), '--work-dir',
                str(tmp_path / 'work'), '--cfg-options', *options])
    assert (tmp_path / 'work' / 'iter_4.pth').is_file()
    dumped = Config.fromfile(tmp_path / 'work' / 'segformer_tiny_ssa_ade20k.py')
    assert dumped.train_cfg.type == 'IterBasedTrainLoop' and 'data' not in dumped
