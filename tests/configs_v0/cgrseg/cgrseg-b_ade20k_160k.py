# CGRSeg-B: EfficientFormerV2-S2 features (stages 2-4) and the CGRSeg head.
_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
norm_cfg = dict(type='SyncBN', requires_grad=True)
# Widths and depths of the EfficientFormerV2 variants (S2 is used here).
EfficientFormer_width = {'L': (40, 80, 192, 384), 'S2': (32, 64, 144, 288),
                         'S1': (32, 48, 120, 224), 'S0': (32, 48, 96, 176)}
EfficientFormer_depth = {'L': (5, 5, 15, 10), 'S2': (4, 4, 12, 8), 'S1': (3, 3, 9, 6),
                         'S0': (2, 2, 6, 4)}
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='efficientformerv2_s2_feat', style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint='ckpts/eformer_s2_450.pth')),
    decode_head=dict(
        type='CGRSeg', in_channels=[64, 144, 288], in_index=[1, 2, 3], channels=256,
        dropout_ratio=0.1, num_classes=150, is_dw=True, dw_size=11, neck_size=11,
        next_repeat=6, square_kernel_size=3, ratio=1, module='RCA', norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optimizer = dict(lr=0.00012,
                 paramwise_cfg=dict(custom_keys={'absolute_pos_embed': dict(decay_mult=0.)}))
data = dict(samples_per_gpu=4, workers_per_gpu=8)
evaluation = dict(interval=4000)
find_unused_parameters = True
