# UperNet Swin-T on ADE20K, the vanilla classifier, at the reference SSA-Seg settings:
# 160k iterations, 4 images per GPU, AdamW 6e-5 with a 1500-iteration linear warm-up then
# poly decay, no weight decay on relative position tables and norms; an auxiliary FCN head
# on stage 3 (loss weight 0.4, training only). Evaluation every 8000 iterations.
# ImageNet-pretrained Swin-T weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/swin_tiny_patch4_window7_224.pth
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
    backbone=dict(
        type='SwinTransformer', pretrain_img_size=224, embed_dims=96, patch_size=4,
        window_size=7, mlp_ratio=4, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
        strides=(4, 2, 2, 2), out_indices=(0, 1, 2, 3), qkv_bias=True, qk_scale=None,
        patch_norm=True, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.3,
        use_abs_pos_embed=False, act_cfg=dict(type='GELU'),
        norm_cfg=dict(type='LN', requires_grad=True), init_cfg=None),
    decode_head=dict(
        type='UPerHead', in_channels=[96, 192, 384, 768], in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6), channels=512, dropout_ratio=0.1, num_classes=150,
        norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=384, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# Swin's own keys, without the schedule's 10x head learning rate (_delete_ replaces them).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(
    _delete_=True, absolute_pos_embed=dict(decay_mult=0.0),
    relative_position_bias_table=dict(decay_mult=0.0), norm=dict(decay_mult=0.0))))
default_hooks = dict(checkpoint=dict(interval=16000))
