# UperNet ViT-Adapter-L + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier
# (on the fpn_bottleneck output), evaluated every 8000 iterations. The auxiliary FCN head stays
# a vanilla head. Pretrained weights: see ./upernet_augreg_adapter_large_512_160k_ade20k.py.
_base_ = ['./upernet_augreg_adapter_large_512_160k_ade20k.py']
model = dict(decode_head=dict(type='UPerHead_ssa'))
train_cfg = dict(val_interval=8000)
