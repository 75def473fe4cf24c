# OCRNet HRNetV2-W48 on ADE20K: wider branches, both heads rewritten for 720 input channels.
_base_ = './ocrnet_hr18_512x512_160k_ade20k.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained='ckpts/hrnetv2_w48-d2186c55.pth',
    backbone=dict(extra=dict(stage2=dict(num_channels=(48, 96)),
                             stage3=dict(num_channels=(48, 96, 192)),
                             stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=[
        dict(type='FCNHead', in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384]),
             input_transform='resize_concat', in_index=(0, 1, 2, 3), kernel_size=1,
             num_convs=1, norm_cfg=norm_cfg, concat_input=False, dropout_ratio=-1,
             num_classes=150, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=[48, 96, 192, 384], channels=512, ocr_channels=256,
             input_transform='resize_concat', in_index=(0, 1, 2, 3), norm_cfg=norm_cfg,
             dropout_ratio=-1, num_classes=150, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])
data = dict(samples_per_gpu=4)
checkpoint_config = dict(by_epoch=False, interval=8000)
evaluation = dict(interval=8000, metric='mIoU', pre_eval=True)
