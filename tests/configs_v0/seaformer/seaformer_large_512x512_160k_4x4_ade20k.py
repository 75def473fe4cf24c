_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py', './seaformer_large.py'
]
optimizer = dict(lr=0.00025, paramwise_cfg=dict(custom_keys={'pos_emb': dict(decay_mult=0.)}))
data = dict(samples_per_gpu=4)
checkpoint_config = dict(by_epoch=False, interval=4000)
evaluation = dict(interval=4000, metric='mIoU', pre_eval=True)
find_unused_parameters = True
