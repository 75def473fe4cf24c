# ADE20K data, optimiser and 160k schedule shared by the SeaFormer configs (the reference's
# settings: 4 GPUs x 4 images, AdamW lr 2.5e-4, weight decay 0.01, linear warm-up over 1500
# iterations then poly decay; evaluation and checkpoints every 4000 iterations).
# The dataset is not shipped: pass its root, e.g.
#   --cfg-options train_dataloader.dataset.data_root=/data/ADEChallengeData2016 \
#       val_dataloader.dataset.data_root=/data/ADEChallengeData2016
_base_ = [
    '../_base_/datasets/ade20k_plain_test.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

# 'pos_emb' matches the axial position embeddings; the schedule's 'norm' key is kept from the
# reference although SeaFormer's own norm layers are named 'bn'.
optim_wrapper = dict(optimizer=dict(lr=0.00025),
                     paramwise_cfg=dict(custom_keys=dict(pos_emb=dict(decay_mult=0.0))))
train_cfg = dict(val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
