# ADE20K with the training set repeated 50 times (one "epoch" is long), as SegNeXt trains.
_base_ = ['./ade20k.py']
data = dict(train=dict(_delete_=True, type='RepeatDataset', times=50,
                       dataset=dict(type='ADE20KDataset', data_root='data/ade/ADEChallengeData2016',
                                    img_dir='images/training', ann_dir='annotations/training',
                                    pipeline={{_base_.train_pipeline}})))
