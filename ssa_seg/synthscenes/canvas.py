"""The drawing surface of a scene: a 'part map' on which every primitive is a part.

A part has a class and a colour; the image and the label are both made from the part map
(:mod:`.render`), so they always agree.
"""
from __future__ import annotations

from typing import List

import cv2
import numpy as np

from .appearance import material_colors

SUPERSAMPLE = 2
_SHIFT_BITS = 4                 # cv2 sub-pixel precision for drawing


class Canvas:
    """A 'part map' canvas: every drawn primitive gets a part id with a class and a colour.

    Coordinates are normalised (0..1 over the image, y down). Rendering at ``SUPERSAMPLE``x
    and averaging gives anti-aliased images and tells which pixels mix classes.
    ``part`` is ``res x res`` uint16 (``res = size * SUPERSAMPLE``); part 0 is the background.
    """

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        self.res = size * SUPERSAMPLE
        self.rng = rng
        self.part = np.zeros((self.res, self.res), np.uint16)
        self.part_class: List[int] = []
        self.part_color: List[np.ndarray] = []
        self.materials = material_colors(rng)

    # -- parts ---------------------------------------------------------------------------
    def color(self, material: str, shade: float = 1.0, jitter: float = 0.0) -> np.ndarray:
        """This image's colour of ``material`` (RGB float32), shaded and jittered."""
        c = self.materials[material] * shade
        if jitter:
            c = c + self.rng.normal(0.0, jitter, 3)
        return np.clip(c, 0, 255).astype(np.float32)

    def part_id(self, cls: int, color: np.ndarray) -> int:
        """A new part of class ``cls`` painted ``color``: the value to draw with."""
        if len(self.part_class) >= 65535:
            raise RuntimeError('too many parts in one scene')
        self.part_class.append(cls)
        self.part_color.append(color)
        return len(self.part_class) - 1

    # -- drawing (normalised coordinates) ------------------------------------------------
    def _pts(self, points) -> np.ndarray:
        p = np.asarray(points, np.float64) * (self.res * (1 << _SHIFT_BITS))
        return np.round(p).astype(np.int32).reshape(-1, 1, 2)

    def _px(self, v: float) -> int:
        return int(round(v * self.res * (1 << _SHIFT_BITS)))

    def poly(self, pid: int, points) -> None:
        cv2.fillPoly(self.part, [self._pts(points)], int(pid), cv2.LINE_8, _SHIFT_BITS)

    def rect(self, pid: int, x0: float, y0: float, x1: float, y1: float) -> None:
        self.poly(pid, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def circle(self, pid: int, cx: float, cy: float, r: float) -> None:
        cv2.circle(self.part, (self._px(cx), self._px(cy)), max(self._px(r), 1), int(pid),
                   -1, cv2.LINE_8, _SHIFT_BITS)

    def ellipse(self, pid: int, cx: float, cy: float, rx: float, ry: float) -> None:
        cv2.ellipse(self.part, (self._px(cx), self._px(cy)),
                    (max(self._px(rx), 1), max(self._px(ry), 1)), 0, 0, 360, int(pid),
                    -1, cv2.LINE_8, _SHIFT_BITS)

    def line(self, pid: int, p0, p1, width: float) -> None:
        thickness = max(int(round(width * self.res)), 1)
        cv2.line(self.part, (self._px(p0[0]), self._px(p0[1])),
                 (self._px(p1[0]), self._px(p1[1])), int(pid), thickness, cv2.LINE_8,
                 _SHIFT_BITS)

    def rounded_rect(self, pid: int, x0: float, y0: float, x1: float, y1: float,
                     r: float) -> None:
        r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
        self.rect(pid, x0 + r, y0, x1 - r, y1)
        self.rect(pid, x0, y0 + r, x1, y1 - r)
        for cx, cy in ((x0 + r, y0 + r), (x1 - r, y0 + r), (x0 + r, y1 - r), (x1 - r, y1 - r)):
            self.circle(pid, cx, cy, r)
