# The reference's AdamW recipe over the 160k schedule: lr 6e-5, weight decay 0.01, the head at
# 10x learning rate and no decay on norms, a linear warm-up over 1500 iterations then poly decay
# (power 1) to 0. Configs add their position-embedding keys to custom_keys.
_base_ = ['./schedule_160k.py']
optimizer = dict(_delete_=True, type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01,
                 paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.),
                                                 'norm': dict(decay_mult=0.)}))
lr_config = dict(_delete_=True, policy='poly', warmup='linear', warmup_iters=1500,
                 warmup_ratio=1e-6, power=1.0, min_lr=0.0, by_epoch=False)
