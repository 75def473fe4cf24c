"""Colours for class maps: palettes, overlays, the disagreement map, indexed PNGs.

Pure numpy on H x W class maps (uint8/uint16, ``IGNORE_INDEX`` = unlabelled); the palette is
the model's (``model.dataset_meta['palette']``), completed by
:func:`ssa_seg.palette.default_palette` when it has too few colours.
"""
from __future__ import annotations

import io
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ssa_seg.classifier import IGNORE_INDEX
from ssa_seg.palette import default_palette

DISAGREEMENT_COLOR = (255, 0, 255)


def palette_array(palette: Optional[Sequence[Sequence[int]]], num_classes: int) -> np.ndarray:
    """(max(K, 256)) x 3 uint8 lookup table; the ignore index and unknown classes are black."""
    table = np.zeros((max(num_classes, IGNORE_INDEX + 1), 3), dtype=np.uint8)
    colours = list(palette or [])
    if len(colours) < num_classes:
        colours = colours + default_palette(num_classes)[len(colours):]
    table[:num_classes] = np.asarray(colours[:num_classes], dtype=np.uint8).reshape(-1, 3)
    return table

def colorize(mask: np.ndarray, palette, num_classes: int) -> np.ndarray:
    """H x W class map -> H x W x 3 uint8 colours."""
    return palette_array(palette, num_classes)[mask]

def overlay(image: np.ndarray, mask: np.ndarray, palette, opacity: float = 0.5,
            num_classes: Optional[int] = None, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Class colours blended over the image: ``(1 - opacity) * image + opacity * colour``.

    ``image`` H x W x 3 uint8 and ``mask`` H x W must have the same size; ignored pixels
    (``ignore_index``) show the plain image. ``opacity`` is clipped to [0, 1].
    """
    if image.shape[:2] != mask.shape:
        raise ValueError(f'image {image.shape[:2]} and mask {mask.shape} differ in size')
    opacity = float(np.clip(opacity, 0.0, 1.0))
    num_classes = num_classes if num_classes is not None else len(palette or [])
    colours = colorize(mask, palette, max(num_classes, 1)).astype(np.float32)
    blended = (1.0 - opacity) * image.astype(np.float32) + opacity * colours
    out = np.rint(blended).astype(np.uint8)
    ignored = mask == ignore_index
    if ignored.any():
        out[ignored] = image[ignored]
    return out

def disagreement_mask(mask_a: np.ndarray, mask_b: np.ndarray) -> np.ndarray:
    """True where the two models predict different classes."""
    if mask_a.shape != mask_b.shape:
        raise ValueError(f'masks differ in size: {mask_a.shape} vs {mask_b.shape}')
    return np.asarray(mask_a) != np.asarray(mask_b)

def disagreement_image(image: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray,
                       color: Tuple[int, int, int] = DISAGREEMENT_COLOR) -> np.ndarray:
    """Where the models disagree: the image dimmed to grey, disagreeing pixels in ``color``."""
    differ = disagreement_mask(mask_a, mask_b)
    if image.shape[:2] != differ.shape:
        raise ValueError(f'image {image.shape[:2]} and masks {differ.shape} differ in size')
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dim = np.rint(40.0 + 0.45 * grey).astype(np.uint8)
    out = np.repeat(dim[..., None], 3, axis=2)
    out[differ] = np.asarray(color, dtype=np.uint8)
    return out

def mask_to_png_bytes(mask: np.ndarray, palette, num_classes: int) -> bytes:
    """An indexed PNG of class indices (mmsegmentation's label format) with the palette."""
    if int(mask.max(initial=0)) > 255:
        img = Image.fromarray(mask.astype(np.uint16))
    else:
        img = Image.fromarray(mask.astype(np.uint8), mode='P')
        img.putpalette(palette_array(palette, num_classes)[:256].reshape(-1).tolist())
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    return buffer.getvalue()

def hex_colour(colour: Sequence[int]) -> str:
    return '#{:02x}{:02x}{:02x}'.format(*(int(c) for c in colour[:3]))

def legend_entries(classes: Sequence[str], palette, present: Optional[Sequence[int]] = None
                   ) -> List[dict]:
    """[{index, name, color ('#rrggbb')}] for the classes in ``present`` (all if None)."""
    table = palette_array(palette, len(classes))
    indices = range(len(classes)) if present is None else sorted({int(i) for i in present
                                                                  if 0 <= int(i) < len(classes)})
    return [dict(index=i, name=str(classes[i]), color=hex_colour(table[i])) for i in indices]
