"""Recording a downloaded checkpoint in the manifest (``python -m ssa_seg.zoo add``).

    add_model('seaformer-l_ade20k_ssa', 'REF/seaformer_large_..._ssa.py', 'ssa.pth',
              pair_with='seaformer-l_ade20k', manifest='checkpoints/manifest.yaml')

The model is built and its checkpoint loaded strictly first (:func:`ssa_seg.apis.init_model`),
so only what opens is recorded. Classes and palette come from the checkpoint's ``meta``
(mmseg 1.x ``dataset_meta`` or 0.x ``CLASSES``/``PALETTE``), else from the config's dataset
type. The manifest is rewritten through a temporary file and a rename, after the new content
has been read back with :func:`ssa_seg.zoo.load_zoo`: an interrupted or refused ``add`` leaves
the old file as it was.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import List, Optional

import yaml

from .manifest import ManifestError, load_zoo, manifest_path
from .released import match_config

ROLES = ('ssa', 'baseline')
HEADER = ('# The model zoo read by the app and the analysis tools (see ssa_seg/zoo/manifest.py).\n'
          '# Paths are relative to the repo root (the parent of this file\'s folder).\n')


class AddError(ValueError):
    """The model cannot be recorded (the message says why; the manifest is unchanged)."""


def stored_path(path: os.PathLike, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (portable checkouts), else absolute."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _header(text: str) -> str:
    """The leading comment lines of a manifest (kept when it is rewritten)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith('#'):
            break
        lines.append(line)
    return ''.join(lines)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over ``path`` (same file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        load_zoo(tmp)   # never put in place what the app could not read back
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load_model(config: str, checkpoint: str):
    from ..apis import init_model
    from ..checkpoint import CheckpointError

    for kind, path in (('config', config), ('checkpoint', checkpoint)):
        if not Path(path).is_file():
            raise AddError(f'{kind} not found: {path}')
    try:
        return init_model(config, checkpoint)
    except CheckpointError as err:
        raise AddError(f'the checkpoint does not load strictly into the config\'s model:\n'
                       f'{err}') from None
    except Exception as err:  # noqa: BLE001  (config errors come as many types)
        raise AddError(f'the config does not build ({type(err).__name__}: {err})') from None


def add_model(name: str, config: os.PathLike, checkpoint: os.PathLike,
              pair_with: Optional[str] = None, role: Optional[str] = None,
              manifest: Optional[os.PathLike] = None, pair_name: Optional[str] = None
              ) -> dict:
    """Record the model ``name`` (and, with ``pair_with``, a pair) in the manifest.

    Args:
        role: ``name``'s role in the pair, 'ssa' or 'baseline'; by default the model's own
            (it has an SSA-Seg classifier or not). A contradiction is refused.
        pair_name: default ``'<baseline> vs <ssa>'``.
    Returns the entry written (paths as stored). Raises :class:`AddError`.
    """
    from ..apis import ssa_classifier

    path = manifest_path(manifest)
    root = path.resolve().parent.parent          # what load_zoo resolves paths against
    text = path.read_text() if path.is_file() else ''
    data: dict = {}
    known_models: dict = {}
    known_pairs: dict = {}
    if text:
        try:
            data = yaml.safe_load(text) or {}
            zoo = load_zoo(path)                 # refuse to build on a broken manifest
        except (yaml.YAMLError, ManifestError) as err:
            raise AddError(f'{path} is not a valid manifest, not touched: {err}') from None
        known_models, known_pairs = zoo.models, zoo.pairs
    models: List[dict] = list(data.get('models') or [])
    pairs: List[dict] = list(data.get('pairs') or [])
    if name in known_models:
        old = known_models[name]
        raise AddError(f'a model called {name!r} is already in {path} (config {old.config}, '
                       f'checkpoint {old.checkpoint}); choose another name or remove that '
                       'entry first')
    if pair_with is not None and pair_with not in known_models:
        raise AddError(f'--pair-with {pair_with!r}: no such model in {path} (known: '
                       f'{", ".join(known_models) or "none"}); add it first')
    if role is not None and role not in ROLES:
        raise AddError(f'--role must be one of {ROLES}, got {role!r}')

    model = _load_model(os.fspath(config), os.fspath(checkpoint))
    own_role = 'ssa' if ssa_classifier(model) is not None else 'baseline'
    if role is not None and role != own_role:
        kind = 'has' if own_role == 'ssa' else 'has no'
        raise AddError(f'--role {role}: the model {kind} an SSA-Seg classifier, so it is the '
                       f'{own_role} of a pair')
    meta = model.dataset_meta
    entry = dict(name=name, config=stored_path(config, root),
                 checkpoint=stored_path(checkpoint, root),
                 classes=[str(c) for c in meta['classes']],
                 palette=[[int(v) for v in colour] for colour in
                          meta['palette'][:len(meta['classes'])]])
    released = match_config(config)
    if released is not None:
        entry['reference_config'] = released[0].reference_config if released[1] == 'ssa' \
            else released[0].reference_baseline
        if released[1] == 'ssa' and own_role == 'ssa':
            entry['reported_mIoU'] = released[0].mIoU

    if pair_with is not None:
        other = known_models[pair_with]
        if list(other.classes) != entry['classes']:
            raise AddError(f'{name!r} and {pair_with!r} cannot be a pair: their classes differ '
                           f'({len(entry["classes"])} vs {len(other.classes)} classes)')
        names = {own_role: name, ('baseline' if own_role == 'ssa' else 'ssa'): pair_with}
        pair = dict(name=pair_name or f'{names["baseline"]} vs {names["ssa"]}',
                    baseline=names['baseline'], ssa=names['ssa'])
        if pair['name'] in known_pairs:
            raise AddError(f'a pair called {pair["name"]!r} is already in {path}; give '
                           '--pair-name')
        pairs.append(pair)
    models.append(entry)
    data['models'] = models
    if pairs:
        data['pairs'] = pairs
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100,
                          allow_unicode=True)
    _write_atomically(path, (_header(text) or HEADER) + body)
    return entry
