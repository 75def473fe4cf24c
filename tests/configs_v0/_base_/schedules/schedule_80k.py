# SGD with a poly decay over 80k iterations, checkpoints and mIoU every 8k.
_base_ = ['./schedule_160k.py']
runner = dict(max_iters=80000)
checkpoint_config = dict(interval=8000)
evaluation = dict(interval=8000)
