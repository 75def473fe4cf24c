# The AdamW recipe (./schedule_160k_adamw.py) over 80k iterations, checkpoints and mIoU every 8k.
_base_ = ['./schedule_160k_adamw.py']
runner = dict(max_iters=80000)
checkpoint_config = dict(interval=8000)
evaluation = dict(interval=8000)
