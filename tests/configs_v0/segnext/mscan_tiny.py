_base_ = ['./mscan.py']
find_unused_parameters = True
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained',
                                checkpoint='ckpts/mscan_t_20230227-119e8c9f.pth')),
    decode_head=dict(ham_kwargs=dict(MD_R=16), num_classes=150))
