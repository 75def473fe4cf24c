"""Tiny mmseg model configs for tests: small enough to run a training step in a second."""
import copy

NUM_CLASSES = 5
MIT_CHANNELS = [16, 32, 64, 128]

PREPROCESSOR = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
                    size=(64, 64))
BACKBONE = dict(type='MixVisionTransformer', in_channels=3, embed_dims=16, num_stages=4,
                num_layers=[1, 1, 1, 1], num_heads=[1, 2, 4, 8], patch_sizes=[7, 3, 3, 3],
                sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=2, qkv_bias=True)
BN = dict(type='BN', requires_grad=True)

HEADS = {
    'SegformerHead': dict(in_channels=MIT_CHANNELS, in_index=[0, 1, 2, 3], channels=32),
    'UPerHead': dict(in_channels=MIT_CHANNELS, in_index=[0, 1, 2, 3], channels=32,
                     pool_scales=(1, 2)),
    'FCNHead': dict(in_channels=128, in_index=3, channels=32, num_convs=1, concat_input=False),
    'LightHamHead': dict(in_channels=[32, 64, 128], in_index=[1, 2, 3], channels=32,
                         ham_channels=32, ham_kwargs=dict(MD_R=4, train_steps=2, eval_steps=2)),
}


def tiny_model_cfg(head: str, ssa: bool = True, num_classes: int = NUM_CLASSES) -> dict:
    """An ``EncoderDecoder`` (or, for OCRHead, a ``CascadeEncoderDecoder``) config dict."""
    suffix = '_ssa' if ssa else ''
    common = dict(num_classes=num_classes, norm_cfg=BN, align_corners=False, dropout_ratio=0.1)
    if head == 'OCRHead':
        return dict(
            type='CascadeEncoderDecoder', num_stages=2, data_preprocessor=PREPROCESSOR,
            backbone=copy.deepcopy(BACKBONE),
            decode_head=[
                dict(type='FCNHead', in_channels=128, in_index=3, channels=32, num_convs=1,
                     concat_input=False, **common),
                dict(type='OCRHead' + suffix, in_channels=128, in_index=3, channels=32,
                     ocr_channels=16, **common),
            ],
            train_cfg=dict(), test_cfg=dict(mode='whole'))
    return dict(type='EncoderDecoder', data_preprocessor=PREPROCESSOR,
                backbone=copy.deepcopy(BACKBONE),
                decode_head=dict(type=head + suffix, **HEADS[head], **common),
                train_cfg=dict(), test_cfg=dict(mode='whole'))


def tiny_config(head: str = 'SegformerHead', ssa: bool = True,
                num_classes: int = NUM_CLASSES) -> dict:
    """A full config (model + test pipeline) usable with ``ssa_seg.apis.init_model``."""
    return dict(
        default_scope='mmseg',
        model=tiny_model_cfg(head, ssa, num_classes),
        test_dataloader=dict(dataset=dict(type='BaseSegDataset', pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(64, 64), keep_ratio=True),
            dict(type='PackSegInputs'),
        ])),
    )
