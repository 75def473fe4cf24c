"""One scene, image and label, from a seed: a layout drawn on a canvas, then painted."""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np

from .appearance import paint
from .canvas import SUPERSAMPLE, Canvas
from .classes import IGNORE_INDEX, THING_CLASSES
from .layouts import indoor, outdoor

OUTDOOR_PROBABILITY = 0.6
SPLITS = {'train': 0, 'val': 1}


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: independent of the split's length."""
    return np.random.default_rng([int(seed), SPLITS[split], int(index)])


def render_scene(rng_or_seed: Union[int, np.random.Generator], size: int = 256
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """One scene: (image H x W x 3 uint8 RGB, label H x W uint8 in [0, 10) or 255)."""
    if size < 16:
        raise ValueError(f'size must be at least 16 pixels, got {size}')
    rng = (rng_or_seed if isinstance(rng_or_seed, np.random.Generator)
           else np.random.default_rng(int(rng_or_seed)))
    sc = Canvas(int(size), rng)
    (outdoor if rng.random() < OUTDOOR_PROBABILITY else indoor)(sc)

    classes = np.asarray(sc.part_class, np.uint8)[sc.part]          # 2x resolution
    blocks = classes.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(size, size, SUPERSAMPLE * SUPERSAMPLE)
    label = blocks[..., -1].copy()           # the sample nearest the pixel centre, bottom-right
    mixed = (blocks != blocks[..., :1]).any(-1)
    has_thing = np.isin(blocks, THING_CLASSES).any(-1)
    image = paint(sc.rng, sc.part, sc.part_color, label)
    label[mixed & has_thing] = IGNORE_INDEX
    return image, label
