# SegFormer MiT-B5 on ADE20K, the vanilla classifier, at the reference SSA-Seg settings:
# 160k iterations, 4 images per GPU, AdamW 6e-5 with a 1500-iteration linear warm-up then
# poly decay, head at 10x learning rate, evaluation and checkpoints every 8000 iterations.
# ImageNet-pretrained MiT-B5 weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#                 model.backbone.init_cfg.checkpoint=/path/mit_b5.pth
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

# B5: the B0 layout, wider and deeper.
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(embed_dims=64, num_layers=[3, 6, 40, 3]),
    decode_head=dict(in_channels=[64, 128, 320, 512]))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(pos_block=dict(decay_mult=0.0))))
default_hooks = dict(checkpoint=dict(interval=8000))
