# UPerNet Swin-T on ADE20K; the backbone starts from ImageNet weights (init_cfg).
_base_ = [
    '../_base_/models/upernet_swin.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
checkpoint_file = 'ckpts/swin_tiny_patch4_window7_224_20220317-1cdeb081.pth'  # noqa
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file), embed_dims=96,
                  depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                  use_abs_pos_embed=False, drop_path_rate=0.3, patch_norm=True),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))
# No weight decay on position tables and norms, and no 10x head learning rate.
optimizer = dict(paramwise_cfg=dict(custom_keys={
    '_delete_': True, 'absolute_pos_embed': dict(decay_mult=0.),
    'relative_position_bias_table': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
data = dict(samples_per_gpu=4)
evaluation = dict(interval=8000, metric='mIoU', pre_eval=True)
