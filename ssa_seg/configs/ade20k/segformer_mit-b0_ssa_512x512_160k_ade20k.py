# SegFormer-B0 + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier.
_base_ = ['./segformer_mit-b0_512x512_160k_ade20k.py']
model = dict(decode_head=dict(type='SegformerHead_ssa'))
