"""What a set-level figure works on: the models of a pair and a set of labelled images.

Per-image figure kinds take one :class:`~analysis.extract.Extraction` per model; set-level
kinds (``FigureKind.level == 'set'``: the paper's Fig. 3 with/without distillation, Fig. 4,
Fig. 6, Fig. 7, Fig. 8) take a :class:`FigureSet`: up to three models by role

* ``'baseline'``: the vanilla classifier,
* ``'ssa'``: SSA-Seg,
* ``'ablation'``: SSA-Seg trained without distillation (no teacher),

and a list of (image, label) files. Models are loaded and images extracted lazily, once, and
shared by every figure of a run (``python -m analysis paper`` extracts each model on each
image once). Tests build a FigureSet from constructed extractions directly.

For the demo pair the default image set is the first images of the SynthScenes val split
(``data/synthscenes`` when it is there, else generated: images are seeded per index, so
they are the very images the demo models were evaluated on).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ssa_seg.zoo import REPO_ROOT

from . import io as image_io
from .roles import ROLES

DEFAULT_NUM_IMAGES = 16
DEMO_DATA = REPO_ROOT / 'data' / 'synthscenes'


@dataclass
class FigureSet:
    """Models (by role) and labelled images for the set-level figures.

    specs: role -> model entry with ``name``, ``init(device)`` and ``extra`` (a
        :class:`ssa_seg.zoo.ZooModel`); ``extra['val_curve']`` / ``extra['train_log']``
        name the training logs Fig. 4 reads.
    images: (image path, label path or None) pairs.
    extractions: role -> one Extraction per image, filled lazily (or given, in tests).
    logs: role -> list of log files of one run, or several runs (a list of such lists, or
        a {label: files} dict); overrides the specs' ``val_curve`` / ``train_log`` / ``seeds``.
    progress: called with a short text before each slow step (the paper command's bar).
    """
    specs: Dict[str, object] = field(default_factory=dict)
    images: List[Tuple[Path, Optional[Path]]] = field(default_factory=list)
    extractions: Dict[str, List[object]] = field(default_factory=dict)
    logs: Dict[str, object] = field(default_factory=dict)
    device: str = 'cpu'
    name: str = ''
    progress: Optional[Callable[[str], None]] = None
    _models: Dict[str, object] = field(default_factory=dict, repr=False)

    def has(self, role: str) -> bool:
        return role in self.extractions or role in self.specs

    def model_name(self, role: str) -> str:
        if role in self.specs:
            return str(self.specs[role].name)
        items = self.extractions.get(role) or []
        return items[0].model_name if items else role

    def use_model(self, role: str, model) -> None:
        """Use an already loaded model for ``role`` (e.g. the app's) instead of loading one."""
        self._models[role] = model

    def model(self, role: str):
        """The loaded model of ``role`` (eval mode), loaded once."""
        if role not in self._models:
            if role not in self.specs:
                raise KeyError(f'this figure set has no {role} model')
            self._models[role] = self.specs[role].init(self.device)
        return self._models[role]

    def extraction(self, role: str, index: int):
        """The Extraction of model ``role`` on image ``index`` (computed once)."""
        items = self.extractions.setdefault(role, [None] * len(self.images))
        if items[index] is None:
            from .extract import extract
            if self.progress:
                self.progress(f'extract {role} {index + 1}/{len(self.images)}')
            image, label = self.images[index]
            items[index] = extract(self.model(role), str(image),
                                   None if label is None else str(label),
                                   model_name=self.model_name(role))
        return items[index]

    def all_extractions(self, role: str) -> List[object]:
        n = len(self.images) if self.images else len(self.extractions.get(role) or [])
        if n == 0:
            raise ValueError('this figure needs labelled images (--image-dir, --label-dir)')
        return [self.extraction(role, i) for i in range(n)]

    def log_files(self, role: str) -> List[Path]:
        """Training logs of ``role``'s first run: the validation curve and the run's own log."""
        runs = self.log_runs(role)
        return runs[0][1] if runs else []

    def log_runs(self, role: str) -> List[Tuple[str, List[Path]]]:
        """Training runs of ``role`` as (label, log files), e.g. one per training seed: from
        ``logs[role]`` (a list of files: one run; a list of lists or a {label: files} dict:
        several), else the manifest entry's ``seeds`` list (``val_curve``, ``train_log`` of
        each seed, labelled ``seed N``), else its own ``val_curve`` / ``train_log``. Each key
        may be a list of files (a run resumed from a checkpoint: one log per session)."""
        if role in self.logs:
            given = self.logs[role]
            if isinstance(given, dict):
                return [(str(k), [Path(p) for p in v]) for k, v in given.items()]
            if given and all(isinstance(g, (list, tuple)) for g in given):
                return [(f'run {i + 1}', [Path(p) for p in g]) for i, g in enumerate(given)]
            return [('', [Path(p) for p in given])]
        spec = self.specs.get(role)
        extra = getattr(spec, 'extra', None) or {}
        root = _manifest_root(spec)

        def files(entry) -> List[Path]:
            # a key may name several files: a resumed run's sessions each write a log
            return [root / name for key in ('val_curve', 'train_log') if entry.get(key)
                    for name in (entry[key] if isinstance(entry[key], list) else [entry[key]])]
        if extra.get('seeds'):
            return [(f'seed {s["seed"]}', files(s)) for s in extra['seeds']]
        return [('', files(extra))] if files(extra) else []


def _manifest_root(spec) -> Path:
    """Paths in the manifest are relative to the repo root (the checkpoint's parent's parent
    for the zoo's layout ``checkpoints/x.pth``)."""
    checkpoint = getattr(spec, 'checkpoint', None)
    if checkpoint:
        return Path(checkpoint).resolve().parent.parent
    return REPO_ROOT


def demo_images(num_images: int = DEFAULT_NUM_IMAGES,
                cache: Optional[os.PathLike] = None) -> List[Tuple[Path, Optional[Path]]]:
    """The first ``num_images`` SynthScenes val images with labels: from data/synthscenes
    if it has them, else generated (seed 0, as the demo data) into ``cache``."""
    root = DEMO_DATA
    if len(list((root / 'img_dir' / 'val').glob('*.png'))) < num_images:
        from ssa_seg.synthscenes import generate
        root = Path(cache or (REPO_ROOT / 'work_dirs' / 'paper_images'))
        have = len(list((root / 'img_dir' / 'val').glob('*.png')))
        if have != num_images:
            generate(root, seed=0, num_train=0, num_val=num_images, size=256, progress=False,
                     overwrite=True)
    return image_io.labelled_images(root / 'img_dir' / 'val', root / 'ann_dir' / 'val',
                                    num_images)


def is_demo_pair(pair) -> bool:
    """Whether the pair's models were trained on SynthScenes (so the demo images fit)."""
    return 'synthscenes' in str(pair.ssa.extra.get('data', '')) or \
        'synthscenes' in os.path.basename(str(pair.ssa.config))


def figure_set_from_pair(pair, images: Optional[Sequence[Tuple[Path, Optional[Path]]]] = None,
                         num_images: int = DEFAULT_NUM_IMAGES, device: str = 'cpu',
                         progress: Optional[Callable[[str], None]] = None) -> FigureSet:
    """A FigureSet for a pair (:class:`ssa_seg.zoo.ZooPair`, from the zoo or from paths:
    :mod:`analysis.pair_args`): the models it has of baseline, SSA-Seg and ablation;
    ``images`` or, for the demo pair, the demo val images."""
    specs = {role: getattr(pair, role, None) for role in ROLES}
    specs = {role: spec for role, spec in specs.items() if spec is not None}
    if images is None:     # other pairs: no default images (figures that need them say so)
        images = demo_images(num_images) if is_demo_pair(pair) else []
    return FigureSet(specs=specs, images=list(images), device=device, name=pair.name,
                     progress=progress)
