# SegNeXt-T (MSCAN-T + LightHamHead) on ADE20K, the vanilla classifier, at the reference
# SSA-Seg settings: 160k iterations, 4 GPUs x 4 images, AdamW 6e-5 with a 1500-iteration
# linear warm-up then poly decay, head at 10x learning rate.
# The backbone is MSCANRef: mmseg's MSCAN with the reference checkpoints' parameter names
# (see ssa_seg/models/backbones/mscan.py), so reference checkpoints load strictly.
# ImageNet-pretrained MSCAN-T weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/mscan_t.pth
# (The reference trains on RepeatDataset(times=50); with an InfiniteSampler that changes nothing.)
_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

norm_cfg = dict(type='SyncBN', requires_grad=True)
ham_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='MSCANRef', embed_dims=[32, 64, 160, 256], mlp_ratios=[8, 8, 4, 4],
        depths=[3, 3, 5, 2], drop_rate=0.0, drop_path_rate=0.1, norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        type='LightHamHead', in_channels=[64, 160, 256], in_index=[1, 2, 3], channels=256,
        ham_channels=256, ham_kwargs=dict(MD_R=16), dropout_ratio=0.1, num_classes=150,
        norm_cfg=ham_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(pos_block=dict(decay_mult=0.0))))
default_hooks = dict(checkpoint=dict(interval=8000))
