"""SynthScenes as an mmsegmentation data set (``ssa_seg.synthscenes``, docs/synthscenes.md)."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..synthscenes import CLASSES, PALETTE


@DATASETS.register_module()
class SynthScenesDataset(BaseSegDataset):
    """Folders written by ``python -m ssa_seg.synthscenes``::

        data_root/img_dir/{train,val}/NNNNN.png   RGB images
        data_root/ann_dir/{train,val}/NNNNN.png   uint8 labels, 0..9, 255 = ignore

    Use ``data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train')``.
    """

    METAINFO = dict(classes=CLASSES, palette=[list(c) for c in PALETTE])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
