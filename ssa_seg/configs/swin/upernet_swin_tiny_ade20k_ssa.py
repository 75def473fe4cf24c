# UperNet Swin-T + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier (on
# the fpn_bottleneck output). The auxiliary FCN head stays a vanilla head.
_base_ = ['./upernet_swin_tiny_ade20k.py']
model = dict(decode_head=dict(type='UPerHead_ssa'))
