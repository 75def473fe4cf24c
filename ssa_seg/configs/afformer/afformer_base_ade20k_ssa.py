# AFFormer-base + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier
# (reference configs/afformer/afformer_base_ade20k_ssa.py).
_base_ = ['./afformer_base_ade20k.py']
model = dict(decode_head=dict(type='CLS_ssa'))
