# UperNet ViT-Adapter-L on ADE20K, the vanilla classifier: the reference's
# configs/vit-adapter/upernet_augreg_adapter_large_512_160k_ade20k.py in mmsegmentation 1.x form.
# 160k iterations, 2 images per GPU (8 GPUs in the reference), AdamW 2e-5 (weight decay 0.05)
# with layer-wise learning-rate decay 0.95 over the 24 ViT blocks, a 1500-iteration linear
# warm-up then poly decay; inputs normalised to [-1, 1]; sliding-window test (512 crops,
# stride 341); a checkpoint every 1000 iterations (the last one kept), evaluation every 16000.
# The backbone starts from the AugReg ViT-L/16 weights (ImageNet-21k, fine-tuned at 384), a
# local file named below relative to the working directory (python -m ssa_seg.train stops and
# names it when it is missing); point at yours with
#   --cfg-options model.backbone.pretrained=/path/L_16-i21k-...-res_384.pth
_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

crop_size = (512, 512)
pretrained = ('ckpts/L_16-i21k-300ep-lr_0.001-aug_medium1-wd_0.1-do_0.1-sd_0.1'
              '--imagenet2012-steps_20k-lr_0.01-res_384.pth')
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ViTAdapter', img_size=384, pretrain_size=384, patch_size=16, embed_dim=1024,
        depth=24, num_heads=16, mlp_ratio=4, drop_path_rate=0.4, conv_inplane=64, n_points=4,
        deform_num_heads=16, cffn_ratio=0.25, deform_ratio=0.5,
        interaction_indexes=[[0, 5], [6, 11], [12, 17], [18, 23]],
        with_cp=True,           # activation checkpointing: less memory in training
        norm_cfg=norm_cfg,      # the original's prior module and output norms are SyncBN
        pretrained=pretrained),
    decode_head=dict(
        type='UPerHead', in_channels=[1024, 1024, 1024, 1024], in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6), channels=512, dropout_ratio=0.1, num_classes=150,
        norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
        concat_input=False, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

train_dataloader = dict(batch_size=2)
# ViT-Adapter's layer decay (ssa_seg/models/backbones/vit_adapter_optim.py): learning rate
# 2e-5 * 0.95 ** (25 - id), id 0 for the embeddings, i + 1 for ViT block i, 25 for the rest.
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimizerConstructor',
    paramwise_cfg=dict(num_layers=24, layer_decay_rate=0.95))
train_cfg = dict(val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=1, save_best='mIoU'))
