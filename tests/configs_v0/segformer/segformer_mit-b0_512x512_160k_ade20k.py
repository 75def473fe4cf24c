# SegFormer-B0 on ADE20K: the AdamW recipe, no weight decay on the position blocks either.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(pretrained=checkpoint, decode_head=dict(num_classes=150))
optimizer = dict(paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.)}))
data = dict(samples_per_gpu=2, workers_per_gpu=2)
