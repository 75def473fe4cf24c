"""Random training batches for the models' training-step tests."""
from __future__ import annotations

from typing import Tuple

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from ssa_seg.classifier import IGNORE_INDEX

TOP_ROWS = (slice(None), slice(0, 4))       # the label's first 4 rows (a 1 x H x W tensor)


def random_batch(model, size: Tuple[int, int] = (64, 64), batch: int = 2,
                 num_classes: int = 150, seed: int = 0, ignore=TOP_ROWS) -> dict:
    """``batch`` random uint8 images (3 x H x W) with random labels below ``num_classes``,
    ``label[ignore]`` set to the ignore index, through ``model.data_preprocessor``: the
    ``dict(inputs, data_samples)`` that ``model(**batch, mode='loss')`` takes."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=g))
        label = torch.randint(0, num_classes, (1, *size), generator=g)
        label[ignore] = IGNORE_INDEX
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
