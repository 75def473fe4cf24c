# CGRSeg-L on ADE20K (150 classes): EfficientFormerV2-L + the CGRSeg head with its DPG stage,
# the reference recipe (xwmaxwma/SSA-Seg configs/cgrseg/cgrseg-l_ade20k_160k.py) in mmseg 1.x form.
# The dataset is not shipped: pass its root, e.g.
#   python -m ssa_seg.train ssa_seg/configs/cgrseg/cgrseg-l_ade20k_160k.py \
#       --cfg-options data_root=/data/ADEChallengeData2016 \
#       train_dataloader.dataset.data_root=/data/ADEChallengeData2016 \
#       val_dataloader.dataset.data_root=/data/ADEChallengeData2016
# The reference starts from ImageNet EfficientFormerV2 weights (eformer_l_450.pth, a local file
# you provide; loaded non-strictly, as the reference does):
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/eformer_l_450.pth
_base_ = ['../_base_/default_runtime.py']
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

dataset_type = 'ADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='efficientformerv2_l_feat', init_cfg=None),
    decode_head=dict(
        type='CGRSeg', in_channels=[80, 192, 384], in_index=[1, 2, 3], channels=256,
        dropout_ratio=0.1, num_classes=150, is_dw=True, dw_size=9, neck_size=9,
        next_repeat=5, square_kernel_size=3, ratio=1, module='RCA', norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
# The backbone's attention needs sides that are multiples of 32: the reference resizes test
# images to the nearest multiple (ResizeToMultiple) and the logits back to the original size.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# The reference trains with 4 images per GPU.
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/validation',
                                  seg_map_path='annotations/validation'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.00012, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(absolute_pos_embed=dict(decay_mult=0.0),
                                        head=dict(lr_mult=10.0),
                                        norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=16000))
# The head builds modules that a given configuration does not use (as the reference does).
find_unused_parameters = True
