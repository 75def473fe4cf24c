# UPerNet Swin-T + SSA on Pascal-Context 59, tested with a 480 x 480 sliding window.
_base_ = [
    '../_base_/models/upernet_swin.py', '../_base_/datasets/pascal_context_59.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k_adamw.py'
]
checkpoint_file = 'ckpts/swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'  # noqa
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file)),
    decode_head=dict(type='UPerHead_ssa', num_classes=59),
    auxiliary_head=dict(num_classes=59),
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)))
optimizer = dict(paramwise_cfg=dict(custom_keys={
    '_delete_': True, 'absolute_pos_embed': dict(decay_mult=0.),
    'relative_position_bias_table': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
data = dict(samples_per_gpu=4, workers_per_gpu=4)
evaluation = dict(interval=4000, metric='mIoU', pre_eval=True)
