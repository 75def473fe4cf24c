# SegFormer-B5 + SSA on COCO-Stuff 10k (171 classes), 80k iterations.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/coco-stuff10k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k_adamw.py'
]
data = dict(samples_per_gpu=4, workers_per_gpu=4)
evaluation = dict(interval=4000, metric='mIoU')
checkpoint_config = dict(by_epoch=False, interval=4000)
checkpoint = 'ckpts/mit_b5_20220624-658746d9.pth'  # noqa
model = dict(
    pretrained=checkpoint,
    backbone=dict(embed_dims=64, num_heads=[1, 2, 5, 8], num_layers=[3, 6, 40, 3]),
    decode_head=dict(type='SegformerHead_ssa', num_classes=171,
                     in_channels=[64, 128, 320, 512]))
optimizer = dict(paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.)}))
