# COCO-Stuff 10k (171 classes); labels start at 1, hence reduce_zero_label on every split.
# The ADE20K training pipeline (./ade20k.py); the test images are not rounded to multiples of 32.
_base_ = ['./ade20k.py']
dataset_type = 'COCOStuffDataset'
data_root = 'data/coco_stuff10k'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(2048, 512), flip=False,
         transforms=[
             dict(type='Resize', keep_ratio=True),
             dict(type='RandomFlip'),
             dict(type='Normalize', **img_norm_cfg),
             dict(type='ImageToTensor', keys=['img']),
             dict(type='Collect', keys=['img']),
         ]),
]
# The training split keeps ./ade20k.py's pipeline.
data = dict(
    train=dict(type=dataset_type, data_root=data_root, reduce_zero_label=True,
               img_dir='images/train2014', ann_dir='annotations/train2014'),
    val=dict(type=dataset_type, data_root=data_root, reduce_zero_label=True,
             img_dir='images/test2014', ann_dir='annotations/test2014', pipeline=test_pipeline),
    test=dict(type=dataset_type, data_root=data_root, reduce_zero_label=True,
              img_dir='images/test2014', ann_dir='annotations/test2014', pipeline=test_pipeline))
