# ADE20K tested as mmsegmentation's own configs test it: the (2048, 512) rescale only, the
# sides not rounded to a multiple of 32 (./ade20k.py rounds them, as the reference does).
_base_ = ['./ade20k.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
