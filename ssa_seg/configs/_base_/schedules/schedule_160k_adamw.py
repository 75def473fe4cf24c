# The reference SSA-Seg schedule of the AdamW families: 160k iterations, AdamW (lr 6e-5, weight
# decay 0.01) with the decode head at 10x learning rate and no weight decay on norm layers, a
# linear warm-up over the first 1500 iterations then poly decay (power 1) to 0, evaluation every
# 8000 iterations. A config adds its position-embedding keys to custom_keys and states its own
# learning rate and checkpoint interval where they differ.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult=10.0), norm=dict(decay_mult=0.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=8000)
