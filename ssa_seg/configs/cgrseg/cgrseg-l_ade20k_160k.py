# CGRSeg-L on ADE20K (150 classes): EfficientFormerV2-L + the CGRSeg head with its DPG stage,
# the reference recipe (xwmaxwma/SSA-Seg configs/cgrseg/cgrseg-l_ade20k_160k.py) in mmseg 1.x form:
# the CGRSeg-B config with the larger backbone and a head of smaller kernels, one block fewer.
# The dataset root: see ./cgrseg-b_ade20k_160k.py. The reference starts from ImageNet
# EfficientFormerV2-L weights (eformer_l_450.pth, a local file you provide):
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/eformer_l_450.pth
_base_ = ['./cgrseg-b_ade20k_160k.py']
model = dict(
    backbone=dict(type='efficientformerv2_l_feat'),
    decode_head=dict(in_channels=[80, 192, 384], dw_size=9, neck_size=9, next_repeat=5))
