# SegFormer MiT-B5 on ADE20K, the vanilla classifier, at the reference SSA-Seg settings:
# 160k iterations, 4 images per GPU, AdamW 6e-5 with a 1500-iteration linear warm-up then
# poly decay, head at 10x learning rate, evaluation and checkpoints every 8000 iterations.
# ImageNet-pretrained MiT-B5 weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/mit_b5.pth
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/ade20k.py']
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='MixVisionTransformer', in_channels=3, embed_dims=64, num_stages=4,
        num_layers=[3, 6, 40, 3], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=4, qkv_bias=True,
        drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1, init_cfg=None),
    decode_head=dict(
        type='SegformerHead', in_channels=[64, 128, 320, 512], in_index=[0, 1, 2, 3],
        channels=256, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(pos_block=dict(decay_mult=0.0),
                                        norm=dict(decay_mult=0.0),
                                        head=dict(lr_mult=10.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
