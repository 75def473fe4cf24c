"""What the server keeps between events: the segment view of a session (a frozen dataclass,
kept in a ``gr.State``), the pixel inspector's data of recent images (bounded, shared) and
the set-level figure sets shared by every session (with a lock).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, wait
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
    many sessions are open.

    An item may be put while it is still being built (:meth:`put_building`, a
    ``concurrent.futures.Future``): :meth:`get` then waits for it, so the segmentation
    that asked for it need not."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: "OrderedDict[str, object]" = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, inspection) -> None:
        with self._lock:
            self._items[key] = inspection
            self._items.move_to_end(key)
            self._evict()

    def put_building(self, key: str, future: Future) -> None:
        """Keep ``future`` under ``key``; its result replaces it when done (a build that
        failed is dropped, and the next click recomputes)."""
        with self._lock:
            self._items[key] = future
            self._items.move_to_end(key)
        future.add_done_callback(lambda done: self._settle(key, done))

    def _settle(self, key: str, done: Future) -> None:
        """Put a finished build's result in place of its future (once; both the future's
        callback and a waiting :meth:`get` call this)."""
        with self._lock:
            if self._items.get(key) is not done:
                return                      # settled, dropped or replaced meanwhile
            if done.exception() is not None:
                del self._items[key]
            else:
                self._items[key] = done.result()
                self._evict()

    def _evict(self) -> None:
        while len(self._items) > 1 and self.nbytes > self.max_bytes:
            self._items.popitem(last=False)

    def get(self, key: Optional[str]):
        """The inspection of ``key`` (waiting for one being built), or None when it was
        never kept, has been dropped or failed to build."""
        with self._lock:
            item = self._items.get(key) if key else None
            if item is not None:
                self._items.move_to_end(key)
        if isinstance(item, Future):
            wait([item])
            self._settle(key, item)
            return None if item.exception() is not None else item.result()
        return item

    @property
    def building(self) -> int:
        """How many items are still being built."""
        return sum(isinstance(item, Future) for item in list(self._items.values()))

    @property
    def nbytes(self) -> int:
        """Bytes of the built items (one being built counts when it is done)."""
        return sum(item.nbytes for item in list(self._items.values())
                   if not isinstance(item, Future))

    def __len__(self) -> int:
        return len(self._items)
