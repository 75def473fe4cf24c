"""What the server keeps between events: the segment view of a session (a frozen dataclass,
kept in a ``gr.State``), the pixel inspector's data of recent images (bounded, shared) and
the set-level figure sets shared by every session (with a lock).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class ImageView:
    """An image as the Analysis tab needs it: the processing-size image and the label at
    that size, with the names the figures and their files carry.

    work: (h, w, 3) uint8, the image at the processing size; label: (h, w) uint8 class
    indices (255 = ignore) at that size, or None; size: (height, width) of the original."""
    pair: str
    work: np.ndarray
    label: Optional[np.ndarray]
    name: str
    size: Tuple[int, int]
    model_names: Dict[str, str]


@dataclass(frozen=True)
class SegmentView(ImageView):
    """A segmented image, as the Segment tab's later events (redraws, tables, the Analysis
    tab) need it. masks: the baseline's and SSA-Seg's (h, w) class-index masks at the
    processing size; present: class indices in the masks (and label); hatched: classes drawn
    hatched (colour close to another's); breakdown: the error-map shares (needs a label);
    mask_files: full-size indexed PNG masks; key: names the image for the viewer (zoom kept
    while it stays the same)."""
    masks: Tuple[np.ndarray, np.ndarray]
    palette: List[List[int]]
    num_classes: int
    classes: List[str]
    stats: dict
    present: Sequence[int]
    hatched: Sequence[int]
    breakdown: Optional[dict]
    mask_files: List[str]
    key: str


class FigureSetCache:
    """Set-level figure sets by pair name (``analysis.figureset.FigureSet``, extractions
    kept for the next figure), each built once even when two sessions ask at once."""

    def __init__(self):
        self._sets: Dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, name: str, build: Callable[[], object]):
        """The set of pair ``name``, made by ``build()`` on first use."""
        with self._lock:
            if name not in self._sets:
                self._sets[name] = build()
            return self._sets[name]

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


class InspectionStore:
    """The pixel inspector's data (``analysis.inspect.PixelInspection``) of the latest
    images, by ``SegmentView.key``, at most ``max_bytes`` in all: the oldest go first (a
    click on an image whose data went recomputes it, see ``app.services.inspect_pixel``).
    Kept here rather than in each session's ``gr.State`` so that the bound holds however
    many sessions are open."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: "OrderedDict[str, object]" = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, inspection) -> None:
        with self._lock:
            self._items[key] = inspection
            self._items.move_to_end(key)
            while len(self._items) > 1 and self.nbytes > self.max_bytes:
                self._items.popitem(last=False)

    def get(self, key: Optional[str]):
        """The inspection of ``key``, or None when it was never kept or has been dropped."""
        with self._lock:
            item = self._items.get(key) if key else None
            if item is not None:
                self._items.move_to_end(key)
            return item

    @property
    def nbytes(self) -> int:
        return sum(item.nbytes for item in self._items.values())

    def __len__(self) -> int:
        return len(self._items)
