# SegNeXt-T + SSA-Seg on ADE20K: the baseline config with the SSA-Seg classifier.
# The Ham head draws its NMF bases at random on every forward (eval included), from the
# global RNG: seed it (torch.manual_seed) before inference for repeatable logits.
_base_ = ['./segnext_tiny_512x512_160k_4x4_ade20k.py']
model = dict(decode_head=dict(type='LightHamHead_ssa'))
