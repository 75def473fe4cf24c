"""Writing a SynthScenes data set to disk in mmsegmentation's folder layout."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Dict, List, Tuple, Union

import cv2

from .classes import CLASSES, IGNORE_INDEX, PALETTE
from .render import image_rng, render_scene

GENERATOR_VERSION = 1

_NAME = re.compile(r'^\d{5,}\.png$')


def _stale_files(directory: Path, count: int) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if _NAME.match(p.name) and int(p.stem) >= count)


def _prepare_folders(out: Path, counts: Dict[str, int], overwrite: bool) -> None:
    """The split folders, without numbered images beyond ``counts`` (an error unless
    ``overwrite``: they would join the data set)."""
    stale = [p for split, n in counts.items() for kind in ('img_dir', 'ann_dir')
             for p in _stale_files(out / kind / split, n)]
    if stale:
        if not overwrite:
            raise FileExistsError(
                f'{out} already holds {len(stale)} numbered images beyond the requested counts '
                f'(e.g. {stale[0]}); use an empty directory or overwrite=True (--overwrite)')
        for p in stale:
            p.unlink()
    for kind in ('img_dir', 'ann_dir'):
        for split in counts:
            (out / kind / split).mkdir(parents=True, exist_ok=True)


def _write_scenes(out: Path, seed: int, size: int, jobs: List[Tuple[str, int]],
                  progress: bool) -> None:
    """Render and write image ``i`` of ``split`` for every (split, i) of ``jobs``."""
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc='SynthScenes', unit='img', dynamic_ncols=True)
    png = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    try:
        for split, i in jobs:
            image, label = render_scene(image_rng(seed, split, i), size)
            name = f'{i:05d}.png'
            if not (cv2.imwrite(str(out / 'img_dir' / split / name), image[..., ::-1], png)
                    and cv2.imwrite(str(out / 'ann_dir' / split / name), label, png)):
                raise OSError(f'could not write {out / "img_dir" / split / name}')
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def generate(out: Union[str, os.PathLike], seed: int, num_train: int, num_val: int,
             size: int = 256, progress: bool = True, overwrite: bool = False) -> Path:
    """Write ``num_train`` + ``num_val`` scenes in mmsegmentation's folder layout.

    ``out/img_dir/{train,val}/NNNNN.png`` (RGB) and ``out/ann_dir/{train,val}/NNNNN.png``
    (uint8 labels, 255 = ignore), plus ``out/synthscenes.json`` describing the set.
    Images already present under the same names are rewritten (identically, for the same
    seed). Numbered images beyond the requested counts, left by an earlier, larger run,
    would silently join the data set: they are an error unless ``overwrite`` removes them.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError('image counts must be >= 0')
    if size < 16:
        raise ValueError(f'size must be at least 16 pixels, got {size}')
    out = Path(out)
    counts = {'train': int(num_train), 'val': int(num_val)}
    _prepare_folders(out, counts, overwrite)
    _write_scenes(out, seed, size, [(split, i) for split, n in counts.items() for i in range(n)],
                  progress)

    meta = dict(generator='ssa_seg.synthscenes', version=GENERATOR_VERSION, seed=int(seed),
                size=int(size), num_train=counts['train'], num_val=counts['val'],
                classes=list(CLASSES), palette=PALETTE, ignore_index=IGNORE_INDEX)
    (out / 'synthscenes.json').write_text(json.dumps(meta, indent=2) + '\n')
    return out
