"""The released SSA-Seg models of the reference repository, as data (``released.yaml``).

    >>> from ssa_seg.zoo.released import released_models
    >>> models = released_models()
    >>> models['seaformer-l_ade20k_ssa'].mIoU
    45.36
    >>> models['seaformer-l_ade20k_ssa'].reference_config
    'configs/seaformer/seaformer_large_512x512_160k_4x4_ade20k_ssa.py'

This table is what the authors report; the manifest (``ssa_seg.zoo.manifest``) is what a user has.
:func:`match_config` connects the two: a config file named like a released reference config
is that model's, so ``python -m ssa_seg.zoo add`` can record its reported mIoU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

RELEASED_FILE = Path(__file__).resolve().parent / 'released.yaml'
REFERENCE_URL = 'https://github.com/xwmaxwma/SSA-Seg/blob/main/'


@dataclass(frozen=True)
class ReleasedModel:
    """One row of the reference README's result tables (an SSA-Seg model)."""
    name: str
    dataset: str
    num_classes: int
    method: str
    backbone: str
    mIoU: float
    latency_ms: float
    params_M: float
    flops_G: float
    reference_config: str           # path inside the reference repository
    reference_baseline: str
    project_config: Optional[str]   # path inside this repository (mmseg 1.x), or None
    project_baseline: Optional[str]
    opens: bool                     # the reference config builds with ssa_seg.apis
    note: str = ''
    fixture: Optional[str] = None   # numerically checked against the reference code


def released_models(path: os.PathLike = RELEASED_FILE) -> Dict[str, ReleasedModel]:
    """Every released model by name, in the README's order (dataset, then table rows)."""
    data = yaml.safe_load(Path(path).read_text())
    return {raw['name']: ReleasedModel(**raw) for raw in data['models']}


def match_config(config: os.PathLike,
                 models: Optional[Dict[str, ReleasedModel]] = None
                 ) -> Optional[Tuple[ReleasedModel, str]]:
    """(released model, 'ssa' or 'baseline') whose reference or project config has the
    file name of ``config``, or None. File names are unique across the reference configs."""
    name = Path(config).name
    for model in (models or released_models()).values():
        for role, paths in (('ssa', (model.reference_config, model.project_config)),
                            ('baseline', (model.reference_baseline, model.project_baseline))):
            if any(p and Path(p).name == name for p in paths):
                return model, role
    return None


def _project_cell(model: ReleasedModel) -> str:
    if model.project_config:
        return f'`{model.project_config}`'
    return '-'


def _status(model: ReleasedModel) -> str:
    if not model.opens:
        return 'not supported'
    return 'fixture-checked' if model.fixture else 'opens'


TABLE_COLUMNS = ('name', 'dataset', 'model', 'mIoU', 'latency ms', 'params M', 'FLOPs G',
                 'here', 'reference config (SSA-Seg; baseline without `_ssa`)',
                 'project 1.x config')


def table_rows(models: Optional[Dict[str, ReleasedModel]] = None) -> List[Tuple[str, ...]]:
    """One row of strings per released model, in :data:`TABLE_COLUMNS` order."""
    return [(m.name, m.dataset, f'{m.method} {m.backbone}', f'{m.mIoU:.2f}',
             f'{m.latency_ms:g}', f'{m.params_M:g}', f'{m.flops_G:g}', _status(m),
             f'`{m.reference_config}`', _project_cell(m))
            for m in (models or released_models()).values()]


def markdown_table(models: Optional[Dict[str, ReleasedModel]] = None) -> str:
    """The table of docs/zoo.md (GitHub markdown), with the notes below it."""
    models = models or released_models()
    lines = ['| ' + ' | '.join(TABLE_COLUMNS) + ' |',
             '|' + '|'.join('---' for _ in TABLE_COLUMNS) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in table_rows(models)]
    notes = [f'- `{m.name}`: {m.note}' for m in models.values() if m.note]
    return '\n'.join(lines + ([''] + notes if notes else [])) + '\n'


def text_table(models: Optional[Dict[str, ReleasedModel]] = None) -> str:
    """The table for a terminal: name, dataset, model, mIoU, status, reference config and
    the project config (the long paths last)."""
    models = models or released_models()
    header = ('name', 'dataset', 'model', 'mIoU', 'here', 'reference config', 'project config')
    rows = [(m.name, m.dataset, f'{m.method} {m.backbone}', f'{m.mIoU:.2f}', _status(m),
             m.reference_config, m.project_config or '-') for m in models.values()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(row):
        return '  '.join(c.ljust(w) for c, w in zip(row, widths)) + '  ' + row[-1]

    notes = [f'note {m.name}: {m.note}' for m in models.values() if m.note]
    return '\n'.join([line(header), *map(line, rows), *notes]) + '\n'
