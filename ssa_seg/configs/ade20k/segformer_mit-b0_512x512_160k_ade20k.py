# SegFormer-B0 on ADE20K (150 classes), the vanilla classifier: mmsegmentation's recipe
# (2 images per GPU, mmsegmentation's test pipeline, evaluation and checkpoints every 16000
# iterations).
# The dataset is not shipped: pass its root, e.g.
#   python -m ssa_seg.train ssa_seg/configs/ade20k/segformer_mit-b0_512x512_160k_ade20k.py \
#       --cfg-options data_root=/data/ADEChallengeData2016 \
#       train_dataloader.dataset.data_root=/data/ADEChallengeData2016 \
#       val_dataloader.dataset.data_root=/data/ADEChallengeData2016
# ImageNet-pretrained MiT-B0 weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=/path/mit_b0.pth
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/ade20k_plain_test.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k_adamw.py'
]
env_cfg = dict(cudnn_benchmark=True)
randomness = dict(seed=0)

model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(batch_size=2)
# No weight decay on the position blocks either.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys=dict(pos_block=dict(decay_mult=0.0))))
train_cfg = dict(val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
