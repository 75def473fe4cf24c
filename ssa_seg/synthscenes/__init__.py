"""SynthScenes: procedural indoor/outdoor scenes for semantic segmentation.

The embedded data set of SSA-Seg Studio (see ``docs/synthscenes.md``). Scenes have a
strong layout prior (sky high, floor and road low, doors standing on the ground line,
windows in rows on walls, people and cars scaled by perspective) and a strong per-image
appearance shift (every class's colour moves independently from image to image, under a
global colour cast, brightness, contrast and texture scale), so a class looks different in
every image while staying consistent inside one: the intra-class, cross-image variance that
SSA-Seg's per-image prototype adaptation is designed for. Some classes share a material
(door and window; road and floor) and differ only by shape and place.

Everything is a function of the seed: image ``i`` of split ``s`` is drawn from its own
``numpy.random.Generator`` seeded with ``(seed, s, i)``, so it does not depend on how many
images are generated, and the same seed gives byte-identical files.

    python -m ssa_seg.synthscenes --out data/synthscenes --seed 0 --num-train 2000 --num-val 300
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..classifier import IGNORE_INDEX

CLASSES = ('sky', 'wall', 'floor', 'road', 'ceiling',
           'vegetation', 'window', 'door', 'person', 'car')
# Label colours for visualisation (ADE20K's colours for the same concepts); not the
# colours the scenes are rendered with, which are in MATERIALS.
PALETTE = [[6, 230, 230], [120, 120, 120], [80, 50, 50], [140, 140, 140], [120, 120, 80],
           [4, 200, 3], [230, 230, 230], [8, 255, 51], [150, 5, 61], [0, 102, 200]]
GENERATOR_VERSION = 1

SKY, WALL, FLOOR, ROAD, CEILING, VEGETATION, WINDOW, DOOR, PERSON, CAR = range(len(CLASSES))
NUM_CLASSES = len(CLASSES)
# Pixels that mix one of these classes with another (at the 2x render) are labelled ignore.
THING_CLASSES = (PERSON, CAR)
SPLITS = {'train': 0, 'val': 1}

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
OUTDOOR_PROBABILITY = 0.6

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

SUPERSAMPLE = 2
_SHIFT_BITS = 4                 # cv2 sub-pixel precision for drawing
_FAR = 3.0                      # room edges are extended this many times away from the VP


class _Scene:
    """A 'part map' canvas: every drawn primitive gets a part id with a class and a colour.

    Coordinates are normalised (0..1 over the image, y down). Rendering at ``SUPERSAMPLE``x
    and averaging gives anti-aliased images and tells which pixels mix classes.
    """

    def __init__(self, size: int, rng: np.random.Generator):
        self.size = size
        self.res = size * SUPERSAMPLE
        self.rng = rng
        self.part = np.zeros((self.res, self.res), np.uint16)
        self.part_class: List[int] = []
        self.part_color: List[np.ndarray] = []
        self.materials = {
            name: np.clip(np.asarray(base, np.float32)
                          + rng.normal(0.0, COLOR_SHIFT_STD, 3).astype(np.float32), 0, 255)
            for name, base in MATERIALS.items()}

    # -- parts ---------------------------------------------------------------------------
    def color(self, material: str, shade: float = 1.0, jitter: float = 0.0) -> np.ndarray:
        c = self.materials[material] * shade
        if jitter:
            c = c + self.rng.normal(0.0, jitter, 3)
        return np.clip(c, 0, 255).astype(np.float32)

    def part_id(self, cls: int, color: np.ndarray) -> int:
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


# ---------------------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------------------
def _person(sc: _Scene, x: float, y_base: float, height: float) -> None:
    rng = sc.rng
    h = height
    head_r = 0.085 * h
    shirt = sc.part_id(PERSON, sc.color('clothes', jitter=15.0))
    legs = sc.part_id(PERSON, sc.color('trousers', jitter=12.0))
    skin = sc.part_id(PERSON, sc.color('skin', jitter=10.0))
    half_w = 0.13 * h * rng.uniform(0.85, 1.15)
    leg_w = 0.07 * h
    hip = y_base - 0.47 * h
    spread = rng.uniform(0.0, 0.07) * h
    sc.poly(legs, [(x - half_w * 0.9, hip), (x - 0.01 * h, hip),
                   (x - spread + leg_w * 0.5, y_base), (x - spread - leg_w, y_base)])
    sc.poly(legs, [(x + 0.01 * h, hip), (x + half_w * 0.9, hip),
                   (x + spread + leg_w, y_base), (x + spread - leg_w * 0.5, y_base)])
    shoulder = y_base - h + 2.1 * head_r
    sc.rounded_rect(shirt, x - half_w, shoulder, x + half_w, hip + 0.03 * h, 0.05 * h)
    for side in (-1.0, 1.0):
        swing = rng.uniform(-0.08, 0.12) * h
        sc.line(shirt, (x + side * half_w * 0.9, shoulder + 0.03 * h),
                (x + side * (half_w + 0.02 * h) + side * swing * 0.5, hip + 0.02 * h),
                0.06 * h)
    sc.rect(skin, x - 0.035 * h, shoulder - 0.04 * h, x + 0.035 * h, shoulder + 0.01 * h)
    sc.circle(skin, x, y_base - h + head_r, head_r)


def _car(sc: _Scene, x: float, y_base: float, height: float) -> None:
    rng = sc.rng
    h = height
    w = h * rng.uniform(1.3, 2.8)              # rear view .. side view
    body = sc.part_id(CAR, sc.color('carpaint', jitter=18.0))
    glass = sc.part_id(CAR, sc.color('opening', shade=0.7, jitter=6.0))
    tyre = sc.part_id(CAR, sc.color('tyre', jitter=5.0))
    wheel_r = 0.17 * h
    body_top = y_base - 0.62 * h
    cab_top = y_base - h
    side_view = w > 2.0 * h
    if side_view:
        for wx in (x - 0.32 * w, x + 0.32 * w):
            sc.circle(tyre, wx, y_base - wheel_r, wheel_r)
    else:
        for wx in (x - 0.38 * w, x + 0.38 * w):
            sc.rect(tyre, wx - 0.07 * w, y_base - 0.25 * h, wx + 0.07 * w, y_base)
    sc.rounded_rect(body, x - w / 2, body_top, x + w / 2, y_base - 0.12 * h, 0.1 * h)
    top_half = (0.27 if side_view else 0.36) * w
    bottom_half = (0.4 if side_view else 0.46) * w
    off = rng.uniform(-0.06, 0.06) * w if side_view else 0.0
    sc.poly(body, [(x + off - top_half, cab_top), (x + off + top_half, cab_top),
                   (x + bottom_half, body_top + 0.01 * h), (x - bottom_half, body_top + 0.01 * h)])
    inset = 0.07 * h
    sc.poly(glass, [(x + off - top_half + inset, cab_top + inset),
                    (x + off + top_half - inset, cab_top + inset),
                    (x + bottom_half - 1.8 * inset, body_top),
                    (x - bottom_half + 1.8 * inset, body_top)])


def _tree(sc: _Scene, x: float, y_base: float, height: float) -> None:
    rng = sc.rng
    h = height
    trunk = sc.part_id(VEGETATION, sc.color('trunk', jitter=8.0))
    sc.rect(trunk, x - 0.035 * h, y_base - 0.5 * h, x + 0.035 * h, y_base)
    cy = y_base - 0.68 * h
    for _ in range(int(rng.integers(3, 7))):
        leaf = sc.part_id(VEGETATION, sc.color('vegetation', shade=rng.uniform(0.85, 1.12),
                                               jitter=5.0))
        sc.circle(leaf, x + rng.normal(0, 0.14 * h), cy + rng.normal(0, 0.1 * h),
                  rng.uniform(0.16, 0.27) * h)


def _plant(sc: _Scene, x: float, y_base: float, height: float) -> None:
    rng = sc.rng
    h = height
    stem = sc.part_id(VEGETATION, sc.color('trunk', jitter=8.0))
    sc.rect(stem, x - 0.04 * h, y_base - 0.5 * h, x + 0.04 * h, y_base)
    for _ in range(int(rng.integers(2, 5))):
        leaf = sc.part_id(VEGETATION, sc.color('vegetation', shade=rng.uniform(0.85, 1.12),
                                               jitter=5.0))
        sc.ellipse(leaf, x + rng.normal(0, 0.15 * h), y_base - rng.uniform(0.5, 0.8) * h,
                   rng.uniform(0.12, 0.25) * h, rng.uniform(0.1, 0.2) * h)


def _window(sc: _Scene, x0, y0, x1, y1, mullion: bool) -> None:
    pane = sc.part_id(WINDOW, sc.color('opening', shade=sc.rng.uniform(0.92, 1.08), jitter=5.0))
    sc.rect(pane, x0, y0, x1, y1)
    if mullion:
        frame = sc.part_id(WINDOW, sc.color('opening', shade=0.6, jitter=4.0))
        width = max(0.08 * (x1 - x0), 0.5 / sc.res)
        sc.line(frame, ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), width)
        sc.line(frame, (x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2), width)


def _door(sc: _Scene, x0, y0, x1, y1) -> None:
    leaf = sc.part_id(DOOR, sc.color('opening', shade=sc.rng.uniform(0.92, 1.08), jitter=5.0))
    sc.rect(leaf, x0, y0, x1, y1)
    knob = sc.part_id(DOOR, sc.color('opening', shade=0.55))
    sc.circle(knob, x0 + 0.8 * (x1 - x0), y0 + 0.55 * (y1 - y0), 0.06 * (x1 - x0))


# ---------------------------------------------------------------------------------------
# Scenes
# ---------------------------------------------------------------------------------------
def _outdoor(sc: _Scene) -> dict:
    rng = sc.rng
    horizon = rng.uniform(0.38, 0.62)
    cam = rng.uniform(0.8, 1.25)               # person height per unit below the horizon
    sc.part_id(SKY, sc.color('sky'))           # part 0 fills the canvas

    ground_cls = ROAD if rng.random() < 0.25 else VEGETATION
    ground = sc.part_id(ground_cls, sc.color('ground' if ground_cls == ROAD else 'vegetation'))
    sc.rect(ground, -0.05, horizon, 1.05, 1.05)
    vx = rng.uniform(0.25, 0.75)
    top_half = rng.uniform(0.02, 0.2)
    bottom_center = vx + rng.uniform(-0.3, 0.3)
    bottom_half = rng.uniform(0.25, 0.8)
    road = sc.part_id(ROAD, sc.color('ground'))
    sc.poly(road, [(vx - top_half, horizon), (vx + top_half, horizon),
                   (bottom_center + bottom_half, 1.0 + 0.05), (bottom_center - bottom_half, 1.05)])

    def road_span(y: float) -> Tuple[float, float]:
        if ground_cls == ROAD:
            return 0.0, 1.0
        t = (y - horizon) / (1.05 - horizon)
        c = vx + t * (bottom_center - vx)
        half = top_half + t * (bottom_half - top_half)
        return max(c - half, 0.0), min(c + half, 1.0)

    if rng.random() < 0.45:                    # dashed centre line
        paint = sc.part_id(ROAD, sc.color('paint', jitter=6.0))
        n = int(rng.integers(4, 9))
        for k in range(n):
            t0, t1 = ((k + 0.3) / n) ** 1.6, ((k + 0.7) / n) ** 1.6
            ya, yb = horizon + t0 * (1.05 - horizon), horizon + t1 * (1.05 - horizon)
            ca, cb = vx + t0 * (bottom_center - vx), vx + t1 * (bottom_center - vx)
            wa, wb = 0.002 + 0.012 * t0, 0.002 + 0.012 * t1
            sc.poly(paint, [(ca - wa, ya), (ca + wa, ya), (cb + wb, yb), (cb - wb, yb)])

    # Buildings stand on the horizon line, side by side with gaps of sky.
    bricks = rng.random() < 0.35
    x = rng.uniform(-0.15, 0.05)
    while x < 1.0:
        if rng.random() < 0.2:
            x += rng.uniform(0.04, 0.15)
            continue
        w = rng.uniform(0.15, 0.45)
        top = rng.uniform(0.02, max(horizon - 0.12, 0.03))
        wall = sc.part_id(WALL, sc.color('wall', shade=rng.uniform(0.88, 1.12), jitter=8.0))
        sc.rect(wall, x, top, x + w, horizon + 0.003)
        if rng.random() < 0.3:
            roof = sc.part_id(WALL, sc.color('wall', shade=0.8, jitter=8.0))
            sc.poly(roof, [(x, top), (x + w, top), (x + w / 2, top - rng.uniform(0.03, 0.1))])
        if bricks:
            line = sc.part_id(WALL, sc.color('wall', shade=0.88))
            step = rng.uniform(0.015, 0.03)
            for yy in np.arange(top + step, horizon, step):
                sc.line(line, (x, yy), (x + w, yy), 0.5 / sc.res)
        door_top = horizon
        if rng.random() < 0.75:
            dw = min(rng.uniform(0.035, 0.07), 0.4 * w)
            dh = min(rng.uniform(0.08, 0.15), 0.6 * (horizon - top))
            dx = rng.uniform(x + 0.02, max(x + w - dw - 0.02, x + 0.021))
            _door(sc, dx, horizon - dh, dx + dw, horizon + 0.002)
            door_top = horizon - dh
        ww = rng.uniform(0.025, 0.06)
        wh = ww * rng.uniform(0.9, 1.8)
        gap_x = ww * rng.uniform(0.5, 1.5)
        gap_y = wh * rng.uniform(0.4, 1.0)
        margin = rng.uniform(0.015, 0.035)
        cols = int((w - 2 * margin + gap_x) // (ww + gap_x))
        mullion = rng.random() < 0.5
        if cols > 0:
            x_start = x + (w - cols * ww - (cols - 1) * gap_x) / 2
            y = top + margin
            while y + wh < door_top - 0.015:
                for c in range(cols):
                    if rng.random() < 0.9:
                        wx = x_start + c * (ww + gap_x)
                        _window(sc, wx, y, wx + ww, y + wh, mullion)
                y += wh + gap_y
        x += w

    # Things, painted far to near.
    things: List[Tuple[float, Callable, float, float]] = []
    for _ in range(int(rng.integers(0, 4))):
        y = horizon + rng.uniform(0.01, 0.35) * (1 - horizon)
        h = min((y - horizon) * cam * rng.uniform(2.5, 4.5) + 0.08, 0.7)
        things.append((y, _tree, rng.uniform(0.0, 1.0), h))
    for _ in range(int(rng.integers(0, 5))):
        y = horizon + (0.05 + 0.85 * rng.random() ** 2) * (1 - horizon)   # mostly far away
        h = (y - horizon) * cam * 0.85 * rng.uniform(0.9, 1.1)
        lo, hi = road_span(y)
        things.append((y, _car, rng.uniform(lo, hi) if hi > lo else vx, h))
    for _ in range(int(rng.integers(1, 7))):
        y = horizon + (0.05 + 0.85 * rng.random() ** 2) * (1 - horizon)
        h = (y - horizon) * cam * rng.uniform(0.85, 1.15)
        things.append((y, _person, rng.uniform(0.03, 0.97), h))
    things.sort(key=lambda t: t[0])
    for y, draw, x, h in things:
        draw(sc, x, y, h)
    return dict(scene='outdoor', horizon=horizon)


def _indoor(sc: _Scene) -> dict:
    rng = sc.rng
    x0, x1 = rng.uniform(0.12, 0.38), rng.uniform(0.62, 0.88)
    y0, y1 = rng.uniform(0.10, 0.32), rng.uniform(0.52, 0.78)
    vp = np.array([rng.uniform(x0 + 0.25 * (x1 - x0), x1 - 0.25 * (x1 - x0)),
                   rng.uniform(y0 + 0.3 * (y1 - y0), y1 - 0.3 * (y1 - y0))])
    tl, tr, bl, br = (np.array(p) for p in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)))

    def far(p):
        return p + _FAR * (p - vp)

    sc.part_id(WALL, sc.color('wall'))         # back wall: part 0
    left = sc.part_id(WALL, sc.color('wall', shade=rng.uniform(0.72, 0.9)))
    right = sc.part_id(WALL, sc.color('wall', shade=rng.uniform(0.8, 1.05)))
    ceiling = sc.part_id(CEILING, sc.color('ceiling'))
    floor = sc.part_id(FLOOR, sc.color('ground'))
    sc.poly(left, [far(tl), tl, bl, far(bl)])
    sc.poly(right, [tr, far(tr), far(br), br])
    sc.poly(ceiling, [far(tl), far(tr), tr, tl])
    sc.poly(floor, [bl, br, far(br), far(bl)])

    def floor_edge_x(y: float, corner) -> float:
        f = far(corner)
        t = (y - corner[1]) / (f[1] - corner[1])
        return corner[0] + t * (f[0] - corner[0])

    if rng.random() < 0.5:                     # tiles
        grout = sc.part_id(FLOOR, sc.color('ground', shade=0.85))
        n = int(rng.integers(4, 10))
        for k in range(1, n):
            p = bl + (br - bl) * k / n
            sc.line(grout, p, far(p), 0.5 / sc.res)
        depth = 1.0
        step = rng.uniform(0.15, 0.35)
        while True:
            depth += step * depth
            y = vp[1] + (y1 - vp[1]) * depth
            if y > 1.0:
                break
            sc.line(grout, (floor_edge_x(y, bl), y), (floor_edge_x(y, br), y), 0.5 / sc.res)

    wall_h = y1 - y0
    wall_w = x1 - x0
    door_span = None
    if rng.random() < 0.6:                     # door on the back wall, standing on the floor
        dw = wall_w * rng.uniform(0.12, 0.2)
        dh = wall_h * rng.uniform(0.55, 0.75)
        dx = rng.uniform(x0 + 0.03 * wall_w, x1 - dw - 0.03 * wall_w)
        _door(sc, dx, y1 - dh, dx + dw, y1 + 0.002)
        door_span = (dx, dx + dw)
    n_windows = int(rng.integers(0, 4))
    if n_windows:
        ww = wall_w * rng.uniform(0.1, 0.2)
        wh = wall_h * rng.uniform(0.25, 0.45)
        wy = y0 + wall_h * rng.uniform(0.12, 0.3)
        mullion = rng.random() < 0.5
        slots = np.linspace(x0, x1, n_windows + 2)[1:-1]
        for cx in slots:
            a, b = cx - ww / 2, cx + ww / 2
            if door_span and a < door_span[1] and b > door_span[0]:
                continue
            _window(sc, a, wy, b, wy + wh, mullion)

    def side_quad(corner_top, corner_bottom, ta, tb, sa, sb):
        """A quad on a side wall: t = depth along the wall, s = height (0 floor, 1 ceiling)."""
        def at(t, s):
            bottom = corner_bottom + t * (far(corner_bottom) - corner_bottom)
            top = corner_top + t * (far(corner_top) - corner_top)
            return bottom + s * (top - bottom)
        return [at(ta, sa), at(tb, sa), at(tb, sb), at(ta, sb)]

    for top_c, bottom_c in ((tl, bl), (tr, br)):
        r = rng.random()
        ta = rng.uniform(0.04, 0.14)
        if r < 0.3:
            quad = side_quad(top_c, bottom_c, ta, ta + rng.uniform(0.04, 0.08), 0.0,
                             rng.uniform(0.6, 0.75))
            leaf = sc.part_id(DOOR, sc.color('opening', shade=rng.uniform(0.9, 1.05), jitter=5.0))
            sc.poly(leaf, quad)
        elif r < 0.55:
            quad = side_quad(top_c, bottom_c, ta, ta + rng.uniform(0.05, 0.1),
                             rng.uniform(0.4, 0.5), rng.uniform(0.75, 0.85))
            pane = sc.part_id(WINDOW, sc.color('opening', shade=rng.uniform(0.9, 1.05),
                                               jitter=5.0))
            sc.poly(pane, quad)

    # People and plants stand on the floor; height scales with distance below the VP.
    things = []
    for _ in range(int(rng.integers(0, 4))):
        y = y1 + (0.02 + 0.75 * rng.random() ** 2) * (1 - y1)
        h = 0.62 * wall_h * (y - vp[1]) / (y1 - vp[1]) * rng.uniform(0.9, 1.1)
        lo, hi = floor_edge_x(y, bl), floor_edge_x(y, br)
        things.append((y, _person, rng.uniform(max(lo, 0.03), min(hi, 0.97)), h))
    for _ in range(int(rng.integers(0, 3))):
        y = y1 + (0.02 + 0.9 * rng.random() ** 2) * (1 - y1)
        h = 0.35 * wall_h * (y - vp[1]) / (y1 - vp[1]) * rng.uniform(0.7, 1.3)
        lo, hi = floor_edge_x(y, bl), floor_edge_x(y, br)
        things.append((y, _plant, rng.uniform(max(lo, 0.03), min(hi, 0.97)), h))
    things.sort(key=lambda t: t[0])
    for y, draw, x, h in things:
        draw(sc, x, y, h)
    return dict(scene='indoor', horizon=float(vp[1]))


# ---------------------------------------------------------------------------------------
# Appearance
# ---------------------------------------------------------------------------------------
def _noise(rng: np.random.Generator, size: int, cell: float) -> np.ndarray:
    """Smooth unit-variance-ish noise with features about ``cell`` pixels across."""
    n = max(int(round(size / max(cell, 1.0))), 2)
    grid = rng.standard_normal((n + 1, n + 1)).astype(np.float32)
    return cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)


def _appearance(sc: _Scene, label_for_texture: np.ndarray) -> np.ndarray:
    rng, size = sc.rng, sc.size
    colors = np.stack(sc.part_color).astype(np.float32)
    base = cv2.resize(colors[sc.part], (size, size), interpolation=cv2.INTER_AREA)

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


def render_scene(rng_or_seed: Union[int, np.random.Generator], size: int = 256
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """One scene: (image H x W x 3 uint8 RGB, label H x W uint8 in [0, 10) or 255)."""
    if size < 16:
        raise ValueError(f'size must be at least 16 pixels, got {size}')
    rng = (rng_or_seed if isinstance(rng_or_seed, np.random.Generator)
           else np.random.default_rng(int(rng_or_seed)))
    sc = _Scene(int(size), rng)
    (_outdoor if rng.random() < OUTDOOR_PROBABILITY else _indoor)(sc)

    classes = np.asarray(sc.part_class, np.uint8)[sc.part]          # 2x resolution
    blocks = classes.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(size, size, SUPERSAMPLE * SUPERSAMPLE)
    label = blocks[..., -1].copy()           # the sample nearest the pixel centre, bottom-right
    mixed = (blocks != blocks[..., :1]).any(-1)
    has_thing = np.isin(blocks, THING_CLASSES).any(-1)
    image = _appearance(sc, label)
    label[mixed & has_thing] = IGNORE_INDEX
    return image, label


# ---------------------------------------------------------------------------------------
# Writing the data set
# ---------------------------------------------------------------------------------------
_NAME = re.compile(r'^\d{5,}\.png$')


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: independent of the split's length."""
    return np.random.default_rng([int(seed), SPLITS[split], int(index)])


def _stale_files(directory: Path, count: int) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if _NAME.match(p.name) and int(p.stem) >= count)


def generate(out: Union[str, os.PathLike], seed: int, num_train: int, num_val: int,
             size: int = 256, progress: bool = True, overwrite: bool = False) -> Path:
    """Write ``num_train`` + ``num_val`` scenes in mmsegmentation's folder layout.

    ``out/img_dir/{train,val}/NNNNN.png`` (RGB) and ``out/ann_dir/{train,val}/NNNNN.png``
    (uint8 labels, 255 = ignore), plus ``out/synthscenes.json`` describing the set.
    Images already present under the same names are rewritten (identically, for the same
    seed). Numbered images beyond the requested counts, left by an earlier, larger run,
    would silently join the data set: they are an error unless ``overwrite`` removes them.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError('image counts must be >= 0')
    if size < 16:
        raise ValueError(f'size must be at least 16 pixels, got {size}')
    out = Path(out)
    counts = {'train': int(num_train), 'val': int(num_val)}
    stale = [p for split, n in counts.items() for kind in ('img_dir', 'ann_dir')
             for p in _stale_files(out / kind / split, n)]
    if stale:
        if not overwrite:
            raise FileExistsError(
                f'{out} already holds {len(stale)} numbered images beyond the requested counts '
                f'(e.g. {stale[0]}); use an empty directory or overwrite=True (--overwrite)')
        for p in stale:
            p.unlink()
    for kind in ('img_dir', 'ann_dir'):
        for split in counts:
            (out / kind / split).mkdir(parents=True, exist_ok=True)

    jobs = [(split, i) for split, n in counts.items() for i in range(n)]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc='SynthScenes', unit='img', dynamic_ncols=True)
    png = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    try:
        for split, i in jobs:
            image, label = render_scene(image_rng(seed, split, i), size)
            name = f'{i:05d}.png'
            if not (cv2.imwrite(str(out / 'img_dir' / split / name), image[..., ::-1], png)
                    and cv2.imwrite(str(out / 'ann_dir' / split / name), label, png)):
                raise OSError(f'could not write {out / "img_dir" / split / name}')
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()

    meta = dict(generator='ssa_seg.synthscenes', version=GENERATOR_VERSION, seed=int(seed),
                size=int(size), num_train=counts['train'], num_val=counts['val'],
                classes=list(CLASSES), palette=PALETTE, ignore_index=IGNORE_INDEX)
    (out / 'synthscenes.json').write_text(json.dumps(meta, indent=2) + '\n')
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m ssa_seg.synthscenes',
        description='Generate the SynthScenes segmentation data set (mmsegmentation layout).')
    parser.add_argument('--out', required=True, help='output directory (data_root)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--size', type=int, default=256, help='image side in pixels')
    parser.add_argument('--overwrite', action='store_true',
                        help='remove numbered images beyond the requested counts')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.num_train < 0 or args.num_val < 0:
        parser.error('--num-train and --num-val must be >= 0')
    if args.size < 16:
        parser.error('--size must be at least 16')
    try:
        out = generate(args.out, args.seed, args.num_train, args.num_val, args.size,
                       progress=not args.no_progress, overwrite=args.overwrite)
    except (FileExistsError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.num_train} train + {args.num_val} val images to {out}')
    return 0
