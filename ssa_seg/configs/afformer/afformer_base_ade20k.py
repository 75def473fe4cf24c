# AFFormer-base + CLS head on ADE20K (150 classes), the vanilla classifier: the reference
# SSA-Seg config configs/afformer/afformer_base_ade20k.py in mmsegmentation 1.x form
# (AdamW lr 3e-4 without parameter-wise settings; evaluation and checkpoints every 8000
# iterations; test images resized to multiples of 32, the backbone's coarsest stride).
# The dataset is not shipped: pass its root, e.g.
#   python -m ssa_seg.train ssa_seg/configs/afformer/afformer_base_ade20k.py \
#       --cfg-options data_root=/data/ADEChallengeData2016 \
#       train_dataloader.dataset.data_root=/data/ADEChallengeData2016 \
#       val_dataloader.dataset.data_root=/data/ADEChallengeData2016
# The reference starts from ImageNet-pretrained AFFormer-base weights, a local file you provide:
#   --cfg-options model.backbone.pretrained=/path/AFFormer_base_ImageNet1k_new.pth
_base_ = [
    '../_base_/datasets/ade20k.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw.py'
]
randomness = dict(seed=0)

# The backbone uses plain BN (as the reference); the head uses GroupNorm.
gn_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='afformer_base', init_cfg=None),
    decode_head=dict(
        type='CLS', in_channels=[216], in_index=[3], channels=256,
        # aff_channels sizes the head's unused `align` block; aff_kwargs is unused (as in
        # the reference), kept so both configs read the same.
        aff_channels=256, aff_kwargs=dict(MD_R=16),
        dropout_ratio=0.1, num_classes=150, norm_cfg=gn_norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# Plain AdamW, no parameter-wise settings: _delete_ drops the schedule's paramwise_cfg.
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0003, betas=(0.9, 0.999), weight_decay=0.01))
default_hooks = dict(checkpoint=dict(interval=8000))
# The head's `align` block never runs: DDP must not wait for its gradients.
find_unused_parameters = True
