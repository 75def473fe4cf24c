# OCRNet HRNetV2-W48 + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier
# in the second (OCR) stage, on the 512-channel object-context feature. The first stage
# stays a vanilla FCN head: its output only feeds OCR's spatial gather. (Lists are not
# merged across config files, so both stages are restated.)
_base_ = ['./ocrnet_hr48_512x512_160k_ade20k.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
hrnet_channels = [48, 96, 192, 384]
model = dict(decode_head=[
    dict(type='FCNHead', in_channels=hrnet_channels, channels=sum(hrnet_channels),
         input_transform='resize_concat', in_index=(0, 1, 2, 3), kernel_size=1,
         num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=150,
         norm_cfg=norm_cfg, align_corners=False,
         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    dict(type='OCRHead_ssa', in_channels=hrnet_channels, channels=512, ocr_channels=256,
         input_transform='resize_concat', in_index=(0, 1, 2, 3), dropout_ratio=-1,
         num_classes=150, norm_cfg=norm_cfg, align_corners=False,
         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
])
