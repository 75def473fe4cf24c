"""Things drawn on a :class:`~.canvas.Canvas` from primitives: people, cars, trees, plants,
windows and doors. Each takes its base point and size in normalised coordinates; sizes and
poses vary with the canvas's generator.
"""
from __future__ import annotations

from .canvas import Canvas
from .classes import CAR, DOOR, PERSON, VEGETATION, WINDOW


def person(sc: Canvas, x: float, y_base: float, height: float) -> None:
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


def car(sc: Canvas, x: float, y_base: float, height: float) -> None:
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


def tree(sc: Canvas, x: float, y_base: float, height: float) -> None:
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


def plant(sc: Canvas, x: float, y_base: float, height: float) -> None:
    rng = sc.rng
    h = height
    stem = sc.part_id(VEGETATION, sc.color('trunk', jitter=8.0))
    sc.rect(stem, x - 0.04 * h, y_base - 0.5 * h, x + 0.04 * h, y_base)
    for _ in range(int(rng.integers(2, 5))):
        leaf = sc.part_id(VEGETATION, sc.color('vegetation', shade=rng.uniform(0.85, 1.12),
                                               jitter=5.0))
        sc.ellipse(leaf, x + rng.normal(0, 0.15 * h), y_base - rng.uniform(0.5, 0.8) * h,
                   rng.uniform(0.12, 0.25) * h, rng.uniform(0.1, 0.2) * h)


def window(sc: Canvas, x0, y0, x1, y1, mullion: bool) -> None:
    pane = sc.part_id(WINDOW, sc.color('opening', shade=sc.rng.uniform(0.92, 1.08), jitter=5.0))
    sc.rect(pane, x0, y0, x1, y1)
    if mullion:
        frame = sc.part_id(WINDOW, sc.color('opening', shade=0.6, jitter=4.0))
        width = max(0.08 * (x1 - x0), 0.5 / sc.res)
        sc.line(frame, ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1), width)
        sc.line(frame, (x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2), width)


def door(sc: Canvas, x0, y0, x1, y1) -> None:
    leaf = sc.part_id(DOOR, sc.color('opening', shade=sc.rng.uniform(0.92, 1.08), jitter=5.0))
    sc.rect(leaf, x0, y0, x1, y1)
    knob = sc.part_id(DOOR, sc.color('opening', shade=0.55))
    sc.circle(knob, x0 + 0.8 * (x1 - x0), y0 + 0.55 * (y1 - y0), 0.06 * (x1 - x0))
