# SeaFormer-L + LightHead, model settings (the reference's configs/seaformer/seaformer_large.py).
# ImageNet-pretrained SeaFormer-L weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/SeaFormer_L_cls_79.9.pth
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='SeaFormer',
        # One list per mobile stack; rows are (kernel, expand ratio, channels, stride).
        cfgs=[
            [[3, 3, 32, 1], [3, 4, 64, 2], [3, 4, 64, 1]],
            [[5, 4, 128, 2], [5, 4, 128, 1]],
            [[3, 4, 192, 2], [3, 4, 192, 1]],
            [[5, 4, 256, 2]],
            [[3, 6, 320, 2]],
        ],
        channels=[32, 64, 128, 192, 256, 320],
        depths=[3, 3, 3],
        key_dims=[16, 20, 24],
        emb_dims=[192, 256, 320],
        num_heads=8,
        mlp_ratios=[2, 4, 6],
        drop_path_rate=0.1,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        type='LightHead',
        in_channels=[128, 192, 256, 320],
        in_index=[0, 1, 2, 3],
        channels=192,
        dropout_ratio=0.1,
        embed_dims=[128, 160, 192],
        num_classes=150,
        is_dw=True,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
