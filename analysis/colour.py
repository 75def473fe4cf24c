"""Colours for class maps: palettes, overlays, the disagreement and error maps, indexed PNGs.

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
# the error map (baseline and SSA-Seg against the ground truth), in the app and in the
# data-set gallery alike: Okabe-Ito colours, told apart with common colour-vision deficiencies
ONLY_SSA_RIGHT = (0, 158, 115)        # bluish green
ONLY_BASELINE_RIGHT = (213, 94, 0)    # vermillion
BOTH_WRONG = (240, 228, 66)           # yellow
ERROR_LEGEND = ((ONLY_SSA_RIGHT, 'only SSA-Seg right'),
                (ONLY_BASELINE_RIGHT, 'only baseline right'),
                (BOTH_WRONG, 'both wrong'))
# palette colours closer than this (Euclidean RGB distance) are hard to tell apart in an
# overlay: the later class of such a pair is drawn hatched (wall and road of the demo
# palette are 34.6 apart)
SIMILAR_COLOUR_DISTANCE = 48.0
HATCH_PERIOD = 6          # pixels between hatch lines (diagonal, 2 pixels wide)
HATCH_DARKEN = 0.45       # a hatch line shows the class colour at this brightness


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
            num_classes: Optional[int] = None, ignore_index: int = IGNORE_INDEX,
            hatched: Sequence[int] = ()) -> np.ndarray:
    """Class colours blended over the image: ``(1 - opacity) * image + opacity * colour``.

    ``image`` H x W x 3 uint8 and ``mask`` H x W must have the same size; ignored pixels
    (``ignore_index``) show the plain image. ``opacity`` is clipped to [0, 1]. Classes in
    ``hatched`` (see :func:`similar_colour_classes`) carry diagonal lines of their colour
    darkened by ``HATCH_DARKEN``, so that near-identical colours stay apart.
    """
    if image.shape[:2] != mask.shape:
        raise ValueError(f'image {image.shape[:2]} and mask {mask.shape} differ in size')
    opacity = float(np.clip(opacity, 0.0, 1.0))
    num_classes = num_classes if num_classes is not None else len(palette or [])
    colours = colorize(mask, palette, max(num_classes, 1)).astype(np.float32)
    if len(hatched):
        lines = hatch_pattern(mask.shape) & np.isin(mask, np.asarray(list(hatched)))
        colours[lines] *= HATCH_DARKEN
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
    out = _dimmed(image)
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
    """[{index, name, color ('#rrggbb'), hatched}] for the classes in ``present`` (all if
    None); ``hatched``: drawn with hatch lines (:func:`similar_colour_classes`)."""
    table = palette_array(palette, len(classes))
    hatched = set(similar_colour_classes(palette, len(classes)))
    indices = range(len(classes)) if present is None else sorted({int(i) for i in present
                                                                  if 0 <= int(i) < len(classes)})
    return [dict(index=i, name=str(classes[i]), color=hex_colour(table[i]),
                 hatched=i in hatched) for i in indices]


def hatch_pattern(shape: Tuple[int, int], period: int = HATCH_PERIOD) -> np.ndarray:
    """H x W bool: diagonal lines two pixels wide, every ``period`` pixels."""
    rows, cols = np.ogrid[:shape[0], :shape[1]]
    return (rows + cols) % period < 2


def colour_distance(a: Sequence[int], b: Sequence[int]) -> float:
    """Euclidean distance of two RGB colours (0 .. 441.7)."""
    return float(np.linalg.norm(np.asarray(a[:3], np.float64) - np.asarray(b[:3], np.float64)))


def similar_colour_classes(palette, num_classes: int,
                           threshold: float = SIMILAR_COLOUR_DISTANCE) -> List[int]:
    """Classes to draw hatched: each class whose colour is within ``threshold`` of an earlier
    class drawn plain. (Two hatched classes may be close to each other only if they were not
    close to the same plain one; for the demo palette: road and ceiling, both near wall.)"""
    table = palette_array(palette, num_classes)[:num_classes]
    plain: List[int] = []
    hatched: List[int] = []
    for k in range(num_classes):
        if any(colour_distance(table[k], table[j]) < threshold for j in plain):
            hatched.append(k)
        else:
            plain.append(k)
    return hatched


def keep_classes(mask: np.ndarray, classes: Optional[Sequence[int]],
                 ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """``mask`` with every class outside ``classes`` set to ``ignore_index`` (the class
    filter: an overlay of the result shows those classes only). ``None``: all classes."""
    if classes is None:
        return mask
    keep = np.isin(mask, np.asarray(list(classes), dtype=np.int64))
    return np.where(keep, mask, np.asarray(ignore_index, dtype=mask.dtype))


def error_categories(pred_a: np.ndarray, pred_b: np.ndarray, label: np.ndarray,
                     ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """H x W uint8 per pixel: 0 both right, 1 only ``pred_b`` right, 2 only ``pred_a`` right,
    3 both wrong, 4 unlabelled (``label == ignore_index``). ``pred_a`` is the baseline and
    ``pred_b`` SSA-Seg throughout the toolkit."""
    if not (pred_a.shape == pred_b.shape == label.shape):
        raise ValueError(f'sizes differ: baseline {pred_a.shape}, SSA-Seg {pred_b.shape}, '
                         f'label {label.shape}')
    right_a, right_b = pred_a == label, pred_b == label
    out = np.full(label.shape, 3, np.uint8)
    out[right_a & right_b] = 0
    out[right_b & ~right_a] = 1
    out[right_a & ~right_b] = 2
    out[label == ignore_index] = 4
    return out


def error_map(image: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, label: np.ndarray,
              ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Which model is right where: the image dimmed to grey, pixels only SSA-Seg (``pred_b``)
    gets right in ``ONLY_SSA_RIGHT``, only the baseline (``pred_a``) in
    ``ONLY_BASELINE_RIGHT``, both wrong in ``BOTH_WRONG``; both right and unlabelled pixels
    stay grey (unlabelled darker). All arrays at one size; H x W x 3 uint8."""
    categories = error_categories(pred_a, pred_b, label, ignore_index)
    if image.shape[:2] != categories.shape:
        raise ValueError(f'image {image.shape[:2]} and masks {categories.shape} differ in size')
    out = _dimmed(image)
    out[categories == 1] = ONLY_SSA_RIGHT
    out[categories == 2] = ONLY_BASELINE_RIGHT
    out[categories == 3] = BOTH_WRONG
    unlabelled = categories == 4
    out[unlabelled] = out[unlabelled] // 2
    return out


def _dimmed(image: np.ndarray) -> np.ndarray:
    """The image as dim grey levels 40..155 (what coloured marks are drawn over)."""
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dim = np.rint(40.0 + 0.45 * grey).astype(np.uint8)
    return np.repeat(dim[..., None], 3, axis=2)
