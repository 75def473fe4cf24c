# CGRSeg-B on ADE20K (150 classes): EfficientFormerV2-S2 + the CGRSeg head with its DPG stage,
# the reference recipe (xwmaxwma/SSA-Seg configs/cgrseg/cgrseg-b_ade20k_160k.py) in mmseg 1.x form:
# 4 images per GPU, AdamW lr 1.2e-4, evaluation every 4000 iterations, checkpoints every 16000.
# The backbone's attention needs sides that are multiples of 32: the dataset config resizes test
# images to the nearest multiple (ResizeToMultiple), as the reference does.
# The dataset is not shipped: pass its root, e.g.
#   python -m ssa_seg.train ssa_seg/configs/cgrseg/cgrseg-b_ade20k_160k.py \
#       --cfg-options data_root=/data/ADEChallengeData2016 \
#       train_dataloader.dataset.data_root=/data/ADEChallengeData2016 \
#       val_dataloader.dataset.data_root=/data/ADEChallengeData2016
# The reference starts from ImageNet EfficientFormerV2 weights (eformer_s2_450.pth, a local file
# you provide; loaded non-strictly, as the reference does):
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/eformer_s2_450.pth
_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='efficientformerv2_s2_feat', init_cfg=None),
    decode_head=dict(
        type='CGRSeg', in_channels=[64, 144, 288], in_index=[1, 2, 3], channels=256,
        dropout_ratio=0.1, num_classes=150, is_dw=True, dw_size=11, neck_size=11,
        next_repeat=6, square_kernel_size=3, ratio=1, module='RCA', norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(optimizer=dict(lr=0.00012),
                     paramwise_cfg=dict(custom_keys=dict(absolute_pos_embed=dict(decay_mult=0.0))))
train_cfg = dict(val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=16000))
# The head builds modules that a given configuration does not use (as the reference does).
find_unused_parameters = True
