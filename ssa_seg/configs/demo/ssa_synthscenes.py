# Demo SSA-Seg model: the baseline with one change, the SSA-Seg classifier (and its recipe).
# Reproduce: python -m ssa_seg.train ssa_seg/configs/demo/ssa_synthscenes.py
_base_ = ['./baseline_synthscenes.py']
model = dict(decode_head=dict(type='SegformerHead_ssa'))
