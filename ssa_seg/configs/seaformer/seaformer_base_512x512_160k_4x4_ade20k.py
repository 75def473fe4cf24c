# SeaFormer-B + LightHead on ADE20K (150 classes), the vanilla classifier: the reference's
# configs/seaformer/seaformer_base_512x512_160k_4x4_ade20k.py in mmsegmentation 1.x form.
# Data root and pretrained weights: see ./ade20k_512x512_160k_4x4.py and ./seaformer_base.py.
_base_ = ['./ade20k_512x512_160k_4x4.py', './seaformer_base.py']
model = dict(data_preprocessor={{_base_.data_preprocessor}})
