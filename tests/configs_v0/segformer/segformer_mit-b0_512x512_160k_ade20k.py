# SegFormer-B0 on ADE20K: AdamW with 10x lr on the head, linear warm-up then poly decay.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(pretrained=checkpoint, decode_head=dict(num_classes=150))
optimizer = dict(
    _delete_=True, type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01,
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.),
                                    'norm': dict(decay_mult=0.),
                                    'head': dict(lr_mult=10.)}))
lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500,
                 warmup_ratio=1e-6, power=1.0, min_lr=0.0, by_epoch=False)
data = dict(samples_per_gpu=2, workers_per_gpu=2)
