"""The manifest: typed zoo entries read from a YAML file (``checkpoints/manifest.yaml``).

The manifest is found, in this order, from the ``path`` argument, the environment variable
``SSA_SEG_MANIFEST``, or ``checkpoints/manifest.yaml`` beside the package (a checkout).
Its format::

    models:
      - name: demo_baseline
        config: ssa_seg/configs/demo/baseline_synthscenes.py   # relative to the manifest's
        checkpoint: checkpoints/demo_baseline.pth              # parent folder's parent
        classes: [...]
        palette: [[r, g, b], ...]
        val_mIoU: 61.2                          # any *mIoU* / *_minutes number -> metrics
        data: ...   train_command: ...          # kept in ``extra``
    pairs:
      - {name: demo, baseline: demo_baseline, ssa: demo_ssa}   # the first pair is the default
        # optional: ablation: demo_ssa_nodistill  (SSA-Seg trained without distillation)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]     # ssa_seg/zoo/manifest.py -> the checkout
DEFAULT_MANIFEST = REPO_ROOT / 'checkpoints' / 'manifest.yaml'
MANIFEST_ENV = 'SSA_SEG_MANIFEST'
REQUIRED_MODEL_KEYS = ('name', 'config', 'checkpoint', 'classes', 'palette')


class ManifestError(ValueError):
    """The manifest is missing, malformed, or names something it does not hold."""


class PairError(ManifestError):
    """A pair cannot be formed, found or loaded."""


@dataclass(frozen=True)
class ZooModel:
    """One model of the zoo; ``config`` and ``checkpoint`` are absolute paths."""
    name: str
    config: str
    checkpoint: Optional[str]
    classes: Tuple[str, ...] = ()
    palette: Tuple[Tuple[int, int, int], ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    extra: Mapping[str, object] = field(default_factory=dict)

    def init(self, device: str = 'cpu'):
        """The model, built and loaded (:func:`ssa_seg.apis.init_model`)."""
        from ..apis import init_model
        return init_model(self.config, self.checkpoint, device=device)


@dataclass(frozen=True)
class ZooPair:
    """A baseline and its SSA-Seg form, compared side by side by the app and the analysis;
    ``ablation``: optionally the SSA-Seg model trained without distillation (paper Fig. 3/6)."""
    name: str
    baseline: ZooModel
    ssa: ZooModel

    def check_files(self) -> 'ZooPair':
        """The pair itself; :class:`ManifestError` naming the first config or checkpoint file
        of its models that does not exist (a zoo entry whose files were moved)."""
        for model in (self.baseline, self.ssa):
            for key in ('config', 'checkpoint'):
                path = getattr(model, key)
                if path and not Path(path).is_file():
                    raise ManifestError(f'zoo model {model.name!r}: {key} not found: {path}')
        return self
    ablation: Optional[ZooModel] = None


@dataclass(frozen=True)
class Zoo:
    models: Mapping[str, ZooModel]
    pairs: Mapping[str, ZooPair]
    path: Optional[Path] = None

    def model(self, name: str) -> ZooModel:
        if name not in self.models:
            raise ManifestError(f'no model named {name!r} in {self.path}; '
                                f'known: {", ".join(self.models) or "none"}')
        return self.models[name]

    def pair(self, name: Optional[str] = None) -> ZooPair:
        """The pair called ``name``, or the first (default) pair."""
        if not self.pairs:
            raise ManifestError(f'{self.path} lists no model pairs')
        if name is None:
            return next(iter(self.pairs.values()))
        if name not in self.pairs:
            raise ManifestError(f'no pair named {name!r} in {self.path}; '
                                f'known: {", ".join(self.pairs)}')
        return self.pairs[name]


def manifest_path(path: Optional[os.PathLike] = None) -> Path:
    """The manifest to read: ``path``, else ``$SSA_SEG_MANIFEST``, else the checkout's."""
    if path is not None:
        return Path(path)
    if os.environ.get(MANIFEST_ENV):
        return Path(os.environ[MANIFEST_ENV])
    return DEFAULT_MANIFEST


def _is_metric(key: str, value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        'miou' in key.lower() or key.endswith('_minutes'))


def _entry(raw: Mapping, root: Path, path: Path) -> ZooModel:
    missing = [k for k in REQUIRED_MODEL_KEYS if k not in raw]
    if missing:
        raise ManifestError(f'{path}: model {raw.get("name", "?")!r} lacks {missing}')
    known = set(REQUIRED_MODEL_KEYS)
    checkpoint = raw['checkpoint']
    return ZooModel(
        name=str(raw['name']), config=str((root / raw['config']).resolve()),
        checkpoint=None if checkpoint is None else str((root / checkpoint).resolve()),
        classes=tuple(str(c) for c in raw['classes']),
        palette=tuple(tuple(int(v) for v in c) for c in raw['palette']),
        metrics={k: v for k, v in raw.items() if k not in known and _is_metric(k, v)},
        extra={k: v for k, v in raw.items() if k not in known and not _is_metric(k, v)})


def load_zoo(path: Optional[os.PathLike] = None) -> Zoo:
    """Read and check a manifest (see :func:`manifest_path` for which one)."""
    path = manifest_path(path)
    if not path.is_file():
        raise ManifestError(f'manifest not found: {path} (give a path or set {MANIFEST_ENV})')
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ManifestError(f'{path} is not valid YAML: {err}') from None
    root = path.resolve().parent.parent    # paths in the manifest are relative to the repo root
    models: Dict[str, ZooModel] = {}
    for raw in data.get('models') or []:
        entry = _entry(raw, root, path)
        if entry.name in models:
            raise ManifestError(f'{path}: two models are called {entry.name!r}')
        models[entry.name] = entry
    zoo = Zoo(models=models, pairs={}, path=path)
    pairs: Dict[str, ZooPair] = {}
    for raw in data.get('pairs') or []:
        ablation = zoo.model(raw['ablation']) if raw.get('ablation') else None
        pairs[raw['name']] = ZooPair(raw['name'], zoo.model(raw['baseline']),
                                     zoo.model(raw['ssa']), ablation)
    return Zoo(models=models, pairs=pairs, path=path)


def pair_from_paths(baseline: Sequence[str], ssa: Sequence[str], name: Optional[str] = None,
                    *, baseline_name: Optional[str] = None, ssa_name: Optional[str] = None,
                    known: Sequence[ZooModel] = ()) -> ZooPair:
    """A pair from ``(config, checkpoint)`` paths given on the command line.

    Each model's name is, in this order: ``baseline_name`` / ``ssa_name``; the name of the
    manifest model (``known``) with the same checkpoint file, whose metrics and training
    notes come along; else the config file's stem (never the checkpoint's: two
    ``iter_160000.pth`` would look the same)."""
    models = {}
    for role, (config, checkpoint), given in (('baseline', baseline, baseline_name),
                                              ('ssa', ssa, ssa_name)):
        for kind, path in (('config', config), ('checkpoint', checkpoint)):
            if not Path(path).is_file():
                raise PairError(f'--{role}: {kind} not found: {path}')
        config, checkpoint = str(Path(config).resolve()), str(Path(checkpoint).resolve())
        match = next((m for m in known if m.checkpoint == checkpoint), None)
        if match is not None:
            models[role] = ZooModel(given or match.name, config, checkpoint, match.classes,
                                    match.palette, match.metrics, match.extra)
        else:
            models[role] = ZooModel(given or Path(config).stem, config, checkpoint)
    if models['baseline'].name == models['ssa'].name:
        raise PairError(f'both models are called {models["ssa"].name!r}; name them with '
                        '--baseline-name and --ssa-name')
    return ZooPair(name or f'{models["baseline"].name} vs {models["ssa"].name}',
                   models['baseline'], models['ssa'])


def init_zoo_model(name: str, device: str = 'cpu', manifest: Optional[os.PathLike] = None):
    """Build and load the zoo model ``name`` in one call (eval mode, on ``device``)."""
    return load_zoo(manifest).model(name).init(device)
