"""Scene layouts: where things go in an outdoor street and in an indoor room.

A layout draws on a :class:`~.canvas.Canvas` in normalised coordinates and takes every random
decision from the canvas's generator, in a fixed order: the order of the draws below is part
of the data set (the same seed gives the same scene), so reordering them changes every image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Tuple

import numpy as np

from .canvas import Canvas
from .classes import CEILING, DOOR, FLOOR, ROAD, SKY, VEGETATION, WALL, WINDOW
from .objects import car, door, person, plant, tree, window

_FAR = 3.0                      # room edges are extended this many times away from the VP

#: (y of the base point, draw function, x, height): a thing standing on the ground.
Thing = Tuple[float, Callable[[Canvas, float, float, float], None], float, float]


def _paint_far_to_near(sc: Canvas, things: List[Thing]) -> None:
    things.sort(key=lambda t: t[0])
    for y, draw, x, h in things:
        draw(sc, x, y, h)


# ---------------------------------------------------------------------------------------
# Outdoor
# ---------------------------------------------------------------------------------------
@dataclass
class _Road:
    """A perspective road from the horizon (or all of the ground, ``everywhere``)."""

    horizon: float
    vx: float              # its centre at the horizon
    top_half: float        # its half width at the horizon
    bottom_center: float   # its centre at the bottom of the image
    bottom_half: float
    everywhere: bool

    def span(self, y: float) -> Tuple[float, float]:
        """The road's x range at height ``y``."""
        if self.everywhere:
            return 0.0, 1.0
        t = (y - self.horizon) / (1.05 - self.horizon)
        c = self.vx + t * (self.bottom_center - self.vx)
        half = self.top_half + t * (self.bottom_half - self.top_half)
        return max(c - half, 0.0), min(c + half, 1.0)


def _ground_and_road(sc: Canvas, horizon: float) -> _Road:
    rng = sc.rng
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
    return _Road(horizon, vx, top_half, bottom_center, bottom_half, ground_cls == ROAD)


def _lane_markings(sc: Canvas, road: _Road) -> None:
    """A dashed centre line, dashes longer and wider towards the viewer."""
    horizon, vx, bottom_center = road.horizon, road.vx, road.bottom_center
    paint = sc.part_id(ROAD, sc.color('paint', jitter=6.0))
    n = int(sc.rng.integers(4, 9))
    for k in range(n):
        t0, t1 = ((k + 0.3) / n) ** 1.6, ((k + 0.7) / n) ** 1.6
        ya, yb = horizon + t0 * (1.05 - horizon), horizon + t1 * (1.05 - horizon)
        ca, cb = vx + t0 * (bottom_center - vx), vx + t1 * (bottom_center - vx)
        wa, wb = 0.002 + 0.012 * t0, 0.002 + 0.012 * t1
        sc.poly(paint, [(ca - wa, ya), (ca + wa, ya), (cb + wb, yb), (cb - wb, yb)])


def _facade_windows(sc: Canvas, x: float, w: float, top: float, door_top: float) -> None:
    """Windows in a grid on a facade, above the door (10 % of them missing)."""
    rng = sc.rng
    ww = rng.uniform(0.025, 0.06)
    wh = ww * rng.uniform(0.9, 1.8)
    gap_x = ww * rng.uniform(0.5, 1.5)
    gap_y = wh * rng.uniform(0.4, 1.0)
    margin = rng.uniform(0.015, 0.035)
    cols = int((w - 2 * margin + gap_x) // (ww + gap_x))
    mullion = rng.random() < 0.5
    if cols <= 0:
        return
    x_start = x + (w - cols * ww - (cols - 1) * gap_x) / 2
    y = top + margin
    while y + wh < door_top - 0.015:
        for c in range(cols):
            if rng.random() < 0.9:
                wx = x_start + c * (ww + gap_x)
                window(sc, wx, y, wx + ww, y + wh, mullion)
        y += wh + gap_y


def _building(sc: Canvas, x: float, w: float, horizon: float, bricks: bool) -> None:
    """A facade standing on the horizon: maybe a gable roof, brick lines, a door; windows."""
    rng = sc.rng
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
        door(sc, dx, horizon - dh, dx + dw, horizon + 0.002)
        door_top = horizon - dh
    _facade_windows(sc, x, w, top, door_top)


def _buildings(sc: Canvas, horizon: float) -> None:
    """Buildings stand on the horizon line, side by side with gaps of sky."""
    rng = sc.rng
    bricks = rng.random() < 0.35
    x = rng.uniform(-0.15, 0.05)
    while x < 1.0:
        if rng.random() < 0.2:
            x += rng.uniform(0.04, 0.15)
            continue
        w = rng.uniform(0.15, 0.45)
        _building(sc, x, w, horizon, bricks)
        x += w


def _street_things(sc: Canvas, road: _Road, cam: float) -> List[Thing]:
    """Trees, cars on the road and people, scaled by their distance below the horizon."""
    rng, horizon = sc.rng, road.horizon
    things: List[Thing] = []
    for _ in range(int(rng.integers(0, 4))):
        y = horizon + rng.uniform(0.01, 0.35) * (1 - horizon)
        h = min((y - horizon) * cam * rng.uniform(2.5, 4.5) + 0.08, 0.7)
        things.append((y, tree, rng.uniform(0.0, 1.0), h))
    for _ in range(int(rng.integers(0, 5))):
        y = horizon + (0.05 + 0.85 * rng.random() ** 2) * (1 - horizon)   # mostly far away
        h = (y - horizon) * cam * 0.85 * rng.uniform(0.9, 1.1)
        lo, hi = road.span(y)
        things.append((y, car, rng.uniform(lo, hi) if hi > lo else road.vx, h))
    for _ in range(int(rng.integers(1, 7))):
        y = horizon + (0.05 + 0.85 * rng.random() ** 2) * (1 - horizon)
        h = (y - horizon) * cam * rng.uniform(0.85, 1.15)
        things.append((y, person, rng.uniform(0.03, 0.97), h))
    return things


def outdoor(sc: Canvas) -> dict:
    """A street: sky, grass or road ground, facades on the horizon, trees, cars, people."""
    rng = sc.rng
    horizon = rng.uniform(0.38, 0.62)
    cam = rng.uniform(0.8, 1.25)               # person height per unit below the horizon
    sc.part_id(SKY, sc.color('sky'))           # part 0 fills the canvas
    road = _ground_and_road(sc, horizon)
    if rng.random() < 0.45:
        _lane_markings(sc, road)
    _buildings(sc, horizon)
    _paint_far_to_near(sc, _street_things(sc, road, cam))
    return dict(scene='outdoor', horizon=horizon)


# ---------------------------------------------------------------------------------------
# Indoor
# ---------------------------------------------------------------------------------------
class _Room:
    """A one-point-perspective room: the back wall (x0, y0)-(x1, y1), vanishing point ``vp``.

    Side walls, floor and ceiling run from the back wall's corners away from ``vp``.
    """

    def __init__(self, rng: np.random.Generator):
        x0, x1 = rng.uniform(0.12, 0.38), rng.uniform(0.62, 0.88)
        y0, y1 = rng.uniform(0.10, 0.32), rng.uniform(0.52, 0.78)
        self.vp = np.array([rng.uniform(x0 + 0.25 * (x1 - x0), x1 - 0.25 * (x1 - x0)),
                            rng.uniform(y0 + 0.3 * (y1 - y0), y1 - 0.3 * (y1 - y0))])
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.tl, self.tr, self.bl, self.br = (
            np.array(p) for p in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)))

    def far(self, p):
        """``p`` pushed away from the vanishing point (off the image)."""
        return p + _FAR * (p - self.vp)

    def floor_edge_x(self, y: float, corner) -> float:
        """x of the floor's edge running from ``corner`` (bl or br), at height ``y``."""
        f = self.far(corner)
        t = (y - corner[1]) / (f[1] - corner[1])
        return corner[0] + t * (f[0] - corner[0])

    def side_quad(self, corner_top, corner_bottom, ta, tb, sa, sb):
        """A quad on a side wall: t = depth along the wall, s = height (0 floor, 1 ceiling)."""
        def at(t, s):
            bottom = corner_bottom + t * (self.far(corner_bottom) - corner_bottom)
            top = corner_top + t * (self.far(corner_top) - corner_top)
            return bottom + s * (top - bottom)
        return [at(ta, sa), at(tb, sa), at(tb, sb), at(ta, sb)]


def _room_surfaces(sc: Canvas, room: _Room) -> None:
    rng, far = sc.rng, room.far
    tl, tr, bl, br = room.tl, room.tr, room.bl, room.br
    sc.part_id(WALL, sc.color('wall'))         # back wall: part 0
    left = sc.part_id(WALL, sc.color('wall', shade=rng.uniform(0.72, 0.9)))
    right = sc.part_id(WALL, sc.color('wall', shade=rng.uniform(0.8, 1.05)))
    ceiling = sc.part_id(CEILING, sc.color('ceiling'))
    floor = sc.part_id(FLOOR, sc.color('ground'))
    sc.poly(left, [far(tl), tl, bl, far(bl)])
    sc.poly(right, [tr, far(tr), far(br), br])
    sc.poly(ceiling, [far(tl), far(tr), tr, tl])
    sc.poly(floor, [bl, br, far(br), far(bl)])


def _tiles(sc: Canvas, room: _Room) -> None:
    """Grout lines: towards the vanishing point, and across at growing depth steps."""
    rng, bl, br = sc.rng, room.bl, room.br
    grout = sc.part_id(FLOOR, sc.color('ground', shade=0.85))
    n = int(rng.integers(4, 10))
    for k in range(1, n):
        p = bl + (br - bl) * k / n
        sc.line(grout, p, room.far(p), 0.5 / sc.res)
    depth = 1.0
    step = rng.uniform(0.15, 0.35)
    while True:
        depth += step * depth
        y = room.vp[1] + (room.y1 - room.vp[1]) * depth
        if y > 1.0:
            break
        sc.line(grout, (room.floor_edge_x(y, bl), y), (room.floor_edge_x(y, br), y),
                0.5 / sc.res)


def _back_wall_openings(sc: Canvas, room: _Room) -> None:
    """A door standing on the floor (60 %), then 0-3 windows in a row that miss the door."""
    rng, x0, x1, y0, y1 = sc.rng, room.x0, room.x1, room.y0, room.y1
    wall_h = y1 - y0
    wall_w = x1 - x0
    door_span = None
    if rng.random() < 0.6:
        dw = wall_w * rng.uniform(0.12, 0.2)
        dh = wall_h * rng.uniform(0.55, 0.75)
        dx = rng.uniform(x0 + 0.03 * wall_w, x1 - dw - 0.03 * wall_w)
        door(sc, dx, y1 - dh, dx + dw, y1 + 0.002)
        door_span = (dx, dx + dw)
    n_windows = int(rng.integers(0, 4))
    if not n_windows:
        return
    ww = wall_w * rng.uniform(0.1, 0.2)
    wh = wall_h * rng.uniform(0.25, 0.45)
    wy = y0 + wall_h * rng.uniform(0.12, 0.3)
    mullion = rng.random() < 0.5
    slots = np.linspace(x0, x1, n_windows + 2)[1:-1]
    for cx in slots:
        a, b = cx - ww / 2, cx + ww / 2
        if door_span and a < door_span[1] and b > door_span[0]:
            continue
        window(sc, a, wy, b, wy + wh, mullion)


def _side_wall_openings(sc: Canvas, room: _Room) -> None:
    """On each side wall, near the back: a door (30 %) or a window (25 %), in perspective."""
    rng = sc.rng
    for top_c, bottom_c in ((room.tl, room.bl), (room.tr, room.br)):
        r = rng.random()
        ta = rng.uniform(0.04, 0.14)
        if r < 0.3:
            quad = room.side_quad(top_c, bottom_c, ta, ta + rng.uniform(0.04, 0.08), 0.0,
                                  rng.uniform(0.6, 0.75))
            leaf = sc.part_id(DOOR, sc.color('opening', shade=rng.uniform(0.9, 1.05), jitter=5.0))
            sc.poly(leaf, quad)
        elif r < 0.55:
            quad = room.side_quad(top_c, bottom_c, ta, ta + rng.uniform(0.05, 0.1),
                                  rng.uniform(0.4, 0.5), rng.uniform(0.75, 0.85))
            pane = sc.part_id(WINDOW, sc.color('opening', shade=rng.uniform(0.9, 1.05),
                                               jitter=5.0))
            sc.poly(pane, quad)


def _room_things(sc: Canvas, room: _Room) -> List[Thing]:
    """People and plants stand on the floor; height scales with distance below the VP."""
    rng, vp, y1 = sc.rng, room.vp, room.y1
    wall_h = room.y1 - room.y0
    things: List[Thing] = []
    for _ in range(int(rng.integers(0, 4))):
        y = y1 + (0.02 + 0.75 * rng.random() ** 2) * (1 - y1)
        h = 0.62 * wall_h * (y - vp[1]) / (y1 - vp[1]) * rng.uniform(0.9, 1.1)
        lo, hi = room.floor_edge_x(y, room.bl), room.floor_edge_x(y, room.br)
        things.append((y, person, rng.uniform(max(lo, 0.03), min(hi, 0.97)), h))
    for _ in range(int(rng.integers(0, 3))):
        y = y1 + (0.02 + 0.9 * rng.random() ** 2) * (1 - y1)
        h = 0.35 * wall_h * (y - vp[1]) / (y1 - vp[1]) * rng.uniform(0.7, 1.3)
        lo, hi = room.floor_edge_x(y, room.bl), room.floor_edge_x(y, room.br)
        things.append((y, plant, rng.uniform(max(lo, 0.03), min(hi, 0.97)), h))
    return things


def indoor(sc: Canvas) -> dict:
    """A room: back and side walls, ceiling, a (tiled) floor, doors, windows, people, plants."""
    rng = sc.rng
    room = _Room(rng)
    _room_surfaces(sc, room)
    if rng.random() < 0.5:
        _tiles(sc, room)
    _back_wall_openings(sc, room)
    _side_wall_openings(sc, room)
    _paint_far_to_near(sc, _room_things(sc, room))
    return dict(scene='indoor', horizon=float(room.vp[1]))
