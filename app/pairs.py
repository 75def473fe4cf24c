"""Which model pairs the app offers, and the loaded models (each loaded once, then cached).

Pairs come from the manifest (``checkpoints/manifest.yaml``) and from the command line
(``--baseline CONFIG CHECKPOINT --ssa CONFIG CHECKPOINT``). Configs are Python and get
executed, so they only ever come from those two trusted places, never from an upload.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from analysis import compare


@dataclass(frozen=True)
class ModelSpec:
    name: str
    config: str
    checkpoint: Optional[str]


@dataclass(frozen=True)
class PairSpec:
    name: str
    baseline: ModelSpec
    ssa: ModelSpec


@dataclass
class LoadedPair:
    spec: PairSpec
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


class PairError(ValueError):
    """A pair cannot be found or loaded."""


def pairs_from_manifest(path=None) -> List[PairSpec]:
    from ssa_seg.zoo import load_manifest

    manifest = load_manifest(path)
    specs = []
    for pair in manifest.pairs:
        roles = {}
        for role in ('baseline', 'ssa'):
            entry = manifest.model(pair[role])
            roles[role] = ModelSpec(entry['name'], entry['config'], entry['checkpoint'])
        specs.append(PairSpec(pair['name'], roles['baseline'], roles['ssa']))
    return specs


def pair_from_paths(baseline: Sequence[str], ssa: Sequence[str], name: Optional[str] = None
                    ) -> PairSpec:
    """A pair from ``(config, checkpoint)`` paths given on the command line."""
    for role, (config, checkpoint) in (('baseline', baseline), ('ssa', ssa)):
        for kind, path in (('config', config), ('checkpoint', checkpoint)):
            if not Path(path).is_file():
                raise PairError(f'--{role}: {kind} not found: {path}')
    base_name, ssa_name = Path(baseline[1]).stem, Path(ssa[1]).stem
    return PairSpec(name or f'{base_name} vs {ssa_name}',
                    ModelSpec(base_name, str(Path(baseline[0]).resolve()),
                              str(Path(baseline[1]).resolve())),
                    ModelSpec(ssa_name, str(Path(ssa[0]).resolve()), str(Path(ssa[1]).resolve())))


class PairRegistry:
    """Pair specs by name; models are built on first use and kept (memory stays bounded by
    the number of pairs, each loaded at most once even under concurrent requests)."""

    def __init__(self, specs: Sequence[PairSpec], default: Optional[str] = None,
                 device: str = 'cpu'):
        if not specs:
            raise PairError('no model pair to serve: give --baseline/--ssa or a manifest '
                            'with pairs')
        self.specs: Dict[str, PairSpec] = {}
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

    def get(self, name: Optional[str] = None) -> LoadedPair:
        name = name or self.default
        if name not in self.specs:
            raise PairError(f'unknown model pair {name!r}; known: {", ".join(self.names)}')
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(self.specs[name])
            return self._loaded[name]

    def _load(self, spec: PairSpec) -> LoadedPair:
        from ssa_seg.apis import init_model

        models = {}
        for role in ('baseline', 'ssa'):
            model_spec: ModelSpec = getattr(spec, role)
            try:
                models[role] = init_model(model_spec.config, model_spec.checkpoint,
                                          device=self.device)
            except Exception as err:   # surfaced to the user as a message, server keeps going
                raise PairError(f'cannot load {role} model {model_spec.name!r} of pair '
                                f'{spec.name!r}: {err}') from err
        compare.check_pair_classes(models['baseline'].dataset_meta, models['ssa'].dataset_meta)
        meta = models['baseline'].dataset_meta
        classes = [str(c) for c in meta['classes']]
        palette = [list(map(int, c)) for c in
                   compare.palette_array(meta.get('palette'), len(classes))[:len(classes)]]
        loaded = LoadedPair(spec, models['baseline'], models['ssa'], classes, palette)
        # one small run so that the first user does not pay for lazy initialisation
        compare.segment_pair(loaded.baseline, loaded.ssa,
                             compare.load_image(np.full((64, 64, 3), 128, np.uint8)))
        return loaded
