# OCRNet HRNetV2-W48 on ADE20K, the vanilla classifier, at the reference SSA-Seg settings:
# a two-stage cascade (an FCN head gives the coarse map that OCR's spatial gather reads),
# 160k iterations, 4 images per GPU, SGD 0.01 with poly decay (power 0.9, floor 1e-4),
# evaluation and checkpoints every 8000 iterations.
# ImageNet-pretrained HRNetV2-W48 weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/hrnetv2_w48.pth
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/ade20k.py']
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [48, 96, 192, 384]
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='HRNet', norm_cfg=norm_cfg, norm_eval=False, init_cfg=None,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                        num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=(48, 96)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=(48, 96, 192)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=(48, 96, 192, 384)))),
    decode_head=[
        dict(type='FCNHead', in_channels=hrnet_channels, channels=sum(hrnet_channels),
             input_transform='resize_concat', in_index=(0, 1, 2, 3), kernel_size=1,
             num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=150,
             norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=hrnet_channels, channels=512, ocr_channels=256,
             input_transform='resize_concat', in_index=(0, 1, 2, 3), dropout_ratio=-1,
             num_classes=150, norm_cfg=norm_cfg, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
