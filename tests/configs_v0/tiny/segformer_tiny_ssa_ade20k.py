# A SegFormer of a few thousand parameters with the SSA head, for fast inference tests.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (64, 64)
model = dict(
    backbone=dict(embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8]),
    decode_head=dict(type='SegformerHead_ssa', in_channels=[8, 16, 40, 64], channels=16,
                     num_classes=150))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(128, 64), flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='RandomFlip'),
             dict(type='Normalize', mean=[123.675, 116.28, 103.53],
                  std=[58.395, 57.12, 57.375], to_rgb=True),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ]),
]
data = dict(val=dict(pipeline=test_pipeline), test=dict(pipeline=test_pipeline))
