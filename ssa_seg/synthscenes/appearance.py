"""How a scene looks: per-image material colours, texture, colour cast, light and noise.

Every image draws its own shift of each material's colour and its own global photometric
settings, so a class looks different in every image while staying consistent inside one.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import cv2
import numpy as np

# Base colours (RGB) of the materials scenes are painted with. Every image shifts each
# material independently by N(0, COLOR_SHIFT_STD) per channel; parts of one material share
# that shift, so door and window (both 'opening') and road and floor (both 'ground') cannot
# be told apart by colour, only by shape and place.
MATERIALS: Dict[str, Tuple[int, int, int]] = {
    'sky': (135, 180, 230),
    'wall': (175, 155, 135),
    'ground': (115, 110, 105),   # road and floor
    'ceiling': (205, 200, 190),
    'vegetation': (75, 125, 60),
    'trunk': (95, 75, 55),
    'opening': (85, 95, 115),    # window and door, and car glass
    'paint': (225, 225, 205),    # lane markings
    'clothes': (150, 85, 80),
    'trousers': (70, 70, 95),
    'skin': (215, 170, 140),
    'carpaint': (165, 50, 45),
    'tyre': (40, 40, 42),
}
COLOR_SHIFT_STD = 45.0          # per material, per channel, per image
CAST_GAIN = (0.4, 1.6)          # global per-channel gain
BRIGHTNESS = (-35.0, 35.0)      # added after contrast
CONTRAST = (0.6, 1.35)          # around mid-grey
TEXTURE_SCALE = (0.5, 2.0)      # spatial scale of all noise textures
TEXTURE_STRENGTH = (0.5, 1.5)   # multiplies the per-class amplitudes below
ILLUMINATION = (0.0, 0.25)      # amplitude of a linear light gradient (multiplicative)
SENSOR_NOISE = (2.0, 7.0)       # std of per-pixel Gaussian noise
BLUR_SIGMA = (0.3, 0.9)

# Grey-level texture amplitudes per class (coarse, medium, fine noise): weak by design.
TEXTURE_AMPLITUDE = np.array([
    # coarse medium fine
    [9.0, 1.0, 1.5],   # sky
    [5.0, 4.0, 4.0],   # wall
    [5.0, 4.0, 6.0],   # floor
    [5.0, 4.0, 6.0],   # road
    [4.0, 2.0, 2.0],   # ceiling
    [6.0, 11.0, 11.0],  # vegetation
    [4.0, 2.0, 2.0],   # window
    [3.0, 4.0, 3.0],   # door
    [2.0, 3.0, 3.0],   # person
    [2.0, 2.0, 3.0],   # car
], np.float32)


def material_colors(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """This image's colour (RGB float32) of every material: its base, shifted."""
    return {
        name: np.clip(np.asarray(base, np.float32)
                      + rng.normal(0.0, COLOR_SHIFT_STD, 3).astype(np.float32), 0, 255)
        for name, base in MATERIALS.items()}


def _noise(rng: np.random.Generator, size: int, cell: float) -> np.ndarray:
    """Smooth unit-variance-ish noise with features about ``cell`` pixels across."""
    n = max(int(round(size / max(cell, 1.0))), 2)
    grid = rng.standard_normal((n + 1, n + 1)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def paint(rng: np.random.Generator, part: np.ndarray, part_color: List[np.ndarray],
          label_for_texture: np.ndarray) -> np.ndarray:
    """The image of a drawn canvas (its part map ``part``, 2H x 2W uint16, and the colour of
    each part, RGB): part colours averaged from the 2x render, texture by class
    (``label_for_texture``, H x W), then contrast, brightness, colour cast, light gradient,
    blur and sensor noise. Returns H x W x 3 uint8 RGB. Takes arrays, not the Canvas, so
    that appearance does not import the canvas that imports it."""
    size = label_for_texture.shape[0]
    colors = np.stack(part_color).astype(np.float32)
    base = cv2.resize(colors[part], (size, size), interpolation=cv2.INTER_AREA)

    scale = rng.uniform(*TEXTURE_SCALE)
    strength = rng.uniform(*TEXTURE_STRENGTH)
    fields = (_noise(rng, size, 48 * scale), _noise(rng, size, 10 * scale),
              _noise(rng, size, 2.5 * scale))
    amp = TEXTURE_AMPLITUDE[label_for_texture] * strength          # H x W x 3
    texture = amp[..., 0] * fields[0] + amp[..., 1] * fields[1] + amp[..., 2] * fields[2]
    img = base + texture[..., None]

    contrast = rng.uniform(*CONTRAST)
    brightness = rng.uniform(*BRIGHTNESS)
    gain = rng.uniform(*CAST_GAIN, 3).astype(np.float32)
    img = ((img - 128.0) * contrast + 128.0 + brightness) * gain

    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    light = 1.0 + rng.uniform(*ILLUMINATION) * (np.cos(angle) * ramp[None, :]
                                                + np.sin(angle) * ramp[:, None]) / 2 ** 0.5
    img *= light[..., None]
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*BLUR_SIGMA))
    img += rng.normal(0.0, rng.uniform(*SENSOR_NOISE), img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
