"""The model zoo: ``checkpoints/manifest.yaml``, read by the app and the analysis tools.

Format::

    models:
      - name: demo_baseline
        config: ssa_seg/configs/demo/baseline_synthscenes.py   # relative to the repo root
        checkpoint: checkpoints/demo_baseline.pth
        classes: [...]
        palette: [[r, g, b], ...]
        val_mIoU: 61.2
        train_command: python -m ssa_seg.train ...
        train_minutes: 12.3
    pairs:
      - {name: demo, baseline: demo_baseline, ssa: demo_ssa}   # the first pair is the default
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = REPO_ROOT / 'checkpoints' / 'manifest.yaml'
REQUIRED_MODEL_KEYS = ('name', 'config', 'checkpoint', 'classes', 'palette')


class ManifestError(ValueError):
    """The manifest is missing, malformed, or names something it does not hold."""


@dataclass
class Manifest:
    models: List[dict] = field(default_factory=list)
    pairs: List[dict] = field(default_factory=list)
    path: Optional[Path] = None

    def model(self, name: str) -> dict:
        for entry in self.models:
            if entry['name'] == name:
                return entry
        raise ManifestError(f'no model named {name!r} in {self.path}; '
                            f'known: {[m["name"] for m in self.models]}')

    def pair(self, name: Optional[str] = None) -> dict:
        """The pair called ``name``, or the first (default) pair."""
        if not self.pairs:
            raise ManifestError(f'{self.path} lists no model pairs')
        if name is None:
            return self.pairs[0]
        for pair in self.pairs:
            if pair['name'] == name:
                return pair
        raise ManifestError(f'no pair named {name!r} in {self.path}; '
                            f'known: {[p["name"] for p in self.pairs]}')


def load_manifest(path: Optional[os.PathLike] = None) -> Manifest:
    """Read and check a manifest; ``config`` and ``checkpoint`` become absolute paths."""
    path = Path(path) if path is not None else DEFAULT_MANIFEST
    if not path.is_file():
        raise ManifestError(f'manifest not found: {path}')
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ManifestError(f'{path} is not valid YAML: {err}') from None
    root = path.resolve().parent.parent    # paths in the manifest are relative to the repo root
    models = []
    for entry in data.get('models') or []:
        missing = [k for k in REQUIRED_MODEL_KEYS if k not in entry]
        if missing:
            raise ManifestError(f'{path}: model {entry.get("name", "?")!r} lacks {missing}')
        entry = dict(entry)
        for key in ('config', 'checkpoint'):
            entry[key] = str((root / entry[key]).resolve())
        models.append(entry)
    manifest = Manifest(models=models, pairs=[dict(p) for p in data.get('pairs') or []], path=path)
    for pair in manifest.pairs:
        for role in ('baseline', 'ssa'):
            manifest.model(pair[role])     # raises if the pair names an unknown model
    return manifest
