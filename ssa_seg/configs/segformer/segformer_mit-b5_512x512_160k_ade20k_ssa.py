# SegFormer MiT-B5 + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier
# (on the head's fusion_conv output).
_base_ = ['./segformer_mit-b5_512x512_160k_ade20k.py']
model = dict(decode_head=dict(type='SegformerHead_ssa'))
