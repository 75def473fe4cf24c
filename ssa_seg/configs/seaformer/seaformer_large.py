# SeaFormer-L + LightHead, model settings (the reference's configs/seaformer/seaformer_large.py):
# the SeaFormer-B layout (./seaformer_base.py) with wider stacks, three transformer stages and
# a head on four inputs. ImageNet-pretrained SeaFormer-L weights are a local file you provide:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=/path/SeaFormer_L_cls_79.9.pth
_base_ = ['./seaformer_base.py']
model = dict(
    backbone=dict(
        # (kernel, expand ratio, channels, stride) rows, one list per mobile stack.
        cfgs=[[[3, 3, 32, 1], [3, 4, 64, 2], [3, 4, 64, 1]], [[5, 4, 128, 2], [5, 4, 128, 1]],
              [[3, 4, 192, 2], [3, 4, 192, 1]], [[5, 4, 256, 2]], [[3, 6, 320, 2]]],
        channels=[32, 64, 128, 192, 256, 320], depths=[3, 3, 3], key_dims=[16, 20, 24],
        emb_dims=[192, 256, 320], mlp_ratios=[2, 4, 6]),
    decode_head=dict(in_channels=[128, 192, 256, 320], in_index=[0, 1, 2, 3], channels=192,
                     embed_dims=[128, 160, 192]))
