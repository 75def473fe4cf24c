# OCRNet HRNetV2-W18 on ADE20K.
_base_ = [
    '../_base_/models/ocrnet_hr18.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
model = dict(decode_head=[dict(num_classes=150), dict(num_classes=150)])
