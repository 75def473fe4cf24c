# The SSA classifier replaces the OCR head's (second stage of the cascade). Lists are not
# merged with the base's, so both heads are written out again.
_base_ = ['ocrnet_hr48_512x512_160k_ade20k.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=[
        dict(type='FCNHead', in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384]),
             input_transform='resize_concat', in_index=(0, 1, 2, 3), kernel_size=1,
             num_convs=1, norm_cfg=norm_cfg, concat_input=False, dropout_ratio=-1,
             num_classes=150, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead_ssa', in_channels=[48, 96, 192, 384], channels=512,
             ocr_channels=256, input_transform='resize_concat', in_index=(0, 1, 2, 3),
             norm_cfg=norm_cfg, dropout_ratio=-1, num_classes=150, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])
