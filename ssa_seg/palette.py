"""The fallback palette, for models whose checkpoint and dataset name no colours."""
from __future__ import annotations

import colorsys
from typing import List, Tuple


def default_palette(num_classes: int) -> List[Tuple[int, int, int]]:
    """A deterministic, well-spread palette for models that ship none (golden-angle hues)."""
    colours = []
    for k in range(num_classes):
        hue = (k * 0.618033988749895) % 1.0
        value = 0.95 if k % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
        colours.append((int(round(r * 255)), int(round(g * 255)), int(round(b * 255))))
    return colours
