# AFFormer: a stage-wise backbone and the CLS head with GroupNorm.
norm_cfg = dict(type='SyncBN', requires_grad=True)
ham_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(type='afformer_base', strides=[4, 2, 2, 2]),
    decode_head=dict(
        type='CLS', in_channels=256, in_index=[0, 1, 2, 3], channels=512, aff_channels=512,
        dropout_ratio=0.1, num_classes=150, norm_cfg=ham_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
