"""SynthScenes' classes: names, label ids and the label colours used to show them."""
from __future__ import annotations

from ..classifier import IGNORE_INDEX  # noqa: F401  (255: pixels mixing a thing and another class)

CLASSES = ('sky', 'wall', 'floor', 'road', 'ceiling',
           'vegetation', 'window', 'door', 'person', 'car')
# Label colours for visualisation (ADE20K's colours for the same concepts); not the
# colours the scenes are rendered with, which are in appearance.MATERIALS.
PALETTE = [[6, 230, 230], [120, 120, 120], [80, 50, 50], [140, 140, 140], [120, 120, 80],
           [4, 200, 3], [230, 230, 230], [8, 255, 51], [150, 5, 61], [0, 102, 200]]

SKY, WALL, FLOOR, ROAD, CEILING, VEGETATION, WINDOW, DOOR, PERSON, CAR = range(len(CLASSES))
NUM_CLASSES = len(CLASSES)
# Pixels that mix one of these classes with another (at the 2x render) are labelled ignore.
THING_CLASSES = (PERSON, CAR)
