# SeaFormer-B + LightHead, model settings (the reference's configs/seaformer/seaformer_base.py).
# Two transformer stages (after the 1/32 and 1/64 stacks) and the reference's defaults
# mlp_ratios=[2, 4], attn_ratios=2. ImageNet-pretrained weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/SeaFormer_B_cls_76.4.pth
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='SeaFormer',
        # One list per mobile stack; rows are (kernel, expand ratio, channels, stride).
        cfgs=[
            [[3, 1, 16, 1], [3, 4, 32, 2], [3, 3, 32, 1]],
            [[5, 3, 64, 2], [5, 3, 64, 1]],
            [[3, 3, 128, 2], [3, 3, 128, 1]],
            [[5, 4, 192, 2]],
            [[3, 6, 256, 2]],
        ],
        channels=[16, 32, 64, 128, 192, 256],
        depths=[4, 4],
        key_dims=[16, 24],
        emb_dims=[192, 256],
        num_heads=8,
        mlp_ratios=[2, 4],
        drop_path_rate=0.1,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        type='LightHead',
        in_channels=[64, 192, 256],
        in_index=[0, 1, 2],
        channels=160,
        dropout_ratio=0.1,
        embed_dims=[128, 160],
        num_classes=150,
        is_dw=True,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
