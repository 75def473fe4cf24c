# CGRSeg-B + SSA-Seg on ADE20K. As in the reference, CGRSeg_ssa has no DPG stage (``lgc``):
# the SSA classifier runs directly on the ``linear_fuse`` output (see ssa_seg.models.heads.cgrseg).
_base_ = ['./cgrseg-b_ade20k_160k.py']
model = dict(decode_head=dict(type='CGRSeg_ssa'))
