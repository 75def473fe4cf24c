# Demo ablation "SSA-Seg without distillation" (the paper's SEPA + SPPA without the
# ground-truth teacher): the demo SSA-Seg model with one change, distillation=False. Training
# then runs the student only, with the terms that need no teacher: loss_ce, loss_pre_self and
# loss_dice_pred (dice_pred supervises the student's own logits with the label, so it belongs
# to the student's recipe, not to the distillation). Same data, schedule and seed.
# Reproduce: python -m ssa_seg.train ssa_seg/configs/demo/ssa_nodistill_synthscenes.py
_base_ = ['./ssa_synthscenes.py']
model = dict(decode_head=dict(distillation=False))
