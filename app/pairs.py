"""The app's cache of loaded model pairs (each loaded once, then kept).

Pairs are :class:`ssa_seg.zoo.ZooPair` entries: from the manifest (``ssa_seg.zoo``) and from
the command line (``--baseline CONFIG CHECKPOINT --ssa CONFIG CHECKPOINT``). Configs are
Python and get executed, so they only ever come from those two trusted places, never from
an upload.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from analysis import colour, stats
from analysis import io as image_io
from ssa_seg.zoo import (  # noqa: F401 (PairError, pair_from_paths: re-exported)
    PairError,
    ZooModel,
    ZooPair,
    load_zoo,
    pair_from_paths,
)


@dataclass
class LoadedPair:
    spec: ZooPair
    baseline: object            # mmseg segmentors in eval mode
    ssa: object
    classes: List[str]
    palette: List[List[int]]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def model_names(self) -> Dict[str, str]:
        return dict(baseline=self.spec.baseline.name, ssa=self.spec.ssa.name)


class PairRegistry:
    """Pair specs by name; models are built on first use and kept (memory stays bounded by
    the number of pairs, each loaded at most once even under concurrent requests)."""

    def __init__(self, specs: Sequence[ZooPair], default: Optional[str] = None,
                 device: str = 'cpu'):
        if not specs:
            raise PairError('no model pair to serve: give --baseline/--ssa or a manifest '
                            'with pairs')
        self.specs: Dict[str, ZooPair] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise PairError(f'two pairs are called {spec.name!r}')
            self.specs[spec.name] = spec
        self.default = default if default is not None else specs[0].name
        if self.default not in self.specs:
            raise PairError(f'no pair named {self.default!r}; known: {self.names}')
        self.device = device
        self._loaded: Dict[str, LoadedPair] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> List[str]:
        return list(self.specs)

    @property
    def loaded_names(self) -> List[str]:
        with self._lock:
            return list(self._loaded)

    def get(self, name: Optional[str] = None) -> LoadedPair:
        name = name or self.default
        if name not in self.specs:
            raise PairError(f'unknown model pair {name!r}; known: {", ".join(self.names)}')
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(self.specs[name])
            return self._loaded[name]

    def _load(self, spec: ZooPair) -> LoadedPair:
        models = {}
        for role in ('baseline', 'ssa'):
            model_spec: ZooModel = getattr(spec, role)
            try:
                models[role] = model_spec.init(self.device)
            except Exception as err:   # surfaced to the user as a message, server keeps going
                raise PairError(f'cannot load {role} model {model_spec.name!r} of pair '
                                f'{spec.name!r}: {err}') from err
        stats.check_pair_classes(models['baseline'].dataset_meta, models['ssa'].dataset_meta)
        meta = models['baseline'].dataset_meta
        classes = [str(c) for c in meta['classes']]
        palette = [list(map(int, c)) for c in
                   colour.palette_array(meta.get('palette'), len(classes))[:len(classes)]]
        loaded = LoadedPair(spec, models['baseline'], models['ssa'], classes, palette)
        # one small run so that the first user does not pay for lazy initialisation
        stats.segment_pair(loaded.baseline, loaded.ssa,
                             image_io.load_image(np.full((64, 64, 3), 128, np.uint8)))
        return loaded
