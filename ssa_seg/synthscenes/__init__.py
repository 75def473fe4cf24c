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

Modules: ``classes`` (names, ids, label colours), ``canvas`` (the part map and its drawing
primitives), ``objects`` (people, cars, trees, plants, windows, doors), ``layouts`` (outdoor
and indoor scenes), ``appearance`` (materials, texture, photometric shifts), ``render`` (one
scene from a seed), ``writer`` (the data set on disk), ``cli`` (the command line).
"""
from .appearance import (
    BLUR_SIGMA,
    BRIGHTNESS,
    CAST_GAIN,
    COLOR_SHIFT_STD,
    CONTRAST,
    ILLUMINATION,
    MATERIALS,
    SENSOR_NOISE,
    TEXTURE_AMPLITUDE,
    TEXTURE_SCALE,
    TEXTURE_STRENGTH,
)
from .canvas import SUPERSAMPLE
from .classes import (
    CAR,
    CEILING,
    CLASSES,
    DOOR,
    FLOOR,
    IGNORE_INDEX,
    NUM_CLASSES,
    PALETTE,
    PERSON,
    ROAD,
    SKY,
    THING_CLASSES,
    VEGETATION,
    WALL,
    WINDOW,
)
from .cli import main
from .render import OUTDOOR_PROBABILITY, SPLITS, image_rng, render_scene
from .writer import GENERATOR_VERSION, generate

__all__ = ['BLUR_SIGMA', 'BRIGHTNESS', 'CAR', 'CAST_GAIN', 'CEILING', 'CLASSES',
           'COLOR_SHIFT_STD', 'CONTRAST', 'DOOR', 'FLOOR', 'GENERATOR_VERSION', 'IGNORE_INDEX',
           'ILLUMINATION', 'MATERIALS', 'NUM_CLASSES', 'OUTDOOR_PROBABILITY', 'PALETTE', 'PERSON',
           'ROAD', 'SENSOR_NOISE', 'SKY', 'SPLITS', 'SUPERSAMPLE', 'TEXTURE_AMPLITUDE',
           'TEXTURE_SCALE', 'TEXTURE_STRENGTH', 'THING_CLASSES', 'VEGETATION', 'WALL', 'WINDOW',
           'generate', 'image_rng', 'main', 'render_scene']
