_base_ = [
    './afformer.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
model = dict(
    pretrained='ckpts/AFFormer_base_ImageNet1k_new.pth',
    backbone=dict(type='afformer_base', strides=[4, 2, 2, 2]),
    decode_head=dict(in_channels=[216], in_index=[3], channels=256, aff_channels=256,
                     aff_kwargs=dict(MD_R=16), num_classes=150))
# Plain AdamW: _delete_ drops the recipe's parameter-wise settings.
optimizer = dict(_delete_=True, type='AdamW', lr=0.0003, betas=(0.9, 0.999), weight_decay=0.01)
data = dict(samples_per_gpu=4, workers_per_gpu=4)
find_unused_parameters = True
checkpoint_config = dict(by_epoch=False, interval=8000)
evaluation = dict(interval=8000, metric='mIoU', pre_eval=True)
