"""Baseline against SSA-Seg over a whole data set: per-class IoU, boundary IoU, confusions.

    dataset = build_dataset(ssa_model.cfg, 'data/synthscenes', 'val')
    totals = compare_dataset(baseline_model, ssa_model, dataset, batch_size=8)
    summary = summarize(totals, classes)         # JSON-ready; numbers in percent

The images go through the data set's own mmsegmentation pipeline (the config's test
pipeline, on ``img_dir/<split>`` and ``ann_dir/<split>``), so the data set type decides the
label convention (``reduce_zero_label`` for ADE20K) and the numbers are those of
``python -m ssa_seg.test``: IoU per class is the confusion matrix summed over the images
(intersections and unions summed, then divided, as mmsegmentation's IoUMetric does),
at each label's own size. Boundary IoU: :mod:`analysis.dataset.boundary`.

Batches: the images are taken in blocks of ``batch_size`` consecutive indices; inside a block
images whose network input has the same size run as one batch. Under ``torch.distributed``
rank ``r`` of ``W`` takes blocks ``r, r + W, ...``, so every image sees the same batch in
every launch mode (bit-identical predictions), and the per-rank integer counts merge exactly.
"""
from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

from ..breakdown import breakdown_summary, image_breakdown, sum_breakdowns
from ..paired import DEFAULT_RESAMPLES, DEFAULT_SEED, ImageCounts, paired_summary
from ..stats import confusion, iou_from_confusion, mean_iou
from .boundary import band_width, boundary_counts, boundary_iou, class_bands

ROLES = ('baseline', 'ssa')


# --------------------------------------------------------------------------- numbers

@dataclass
class ImageRecord:
    """One image's numbers: its position in the data set, name and per-model mIoU (0..1),
    and its counts for the paired statistics and the drill-down (:mod:`analysis.paired`)."""
    index: int
    name: str
    img_path: str
    miou: Dict[str, Optional[float]]
    counts: Optional[ImageCounts] = None


@dataclass
class DatasetTotals:
    """Integer counts summed over the images (exactly mergeable), plus per-image records.

    confusion[role]: K x K (rows ground truth, columns prediction).
    boundary[role]: 2 x K (boundary intersection, boundary union).
    """
    num_classes: int
    confusion: Dict[str, np.ndarray] = field(default_factory=dict)
    boundary: Dict[str, np.ndarray] = field(default_factory=dict)
    images: List[ImageRecord] = field(default_factory=list)

    def __post_init__(self):
        k = self.num_classes
        for role in ROLES:
            self.confusion.setdefault(role, np.zeros((k, k), np.int64))
            self.boundary.setdefault(role, np.zeros((2, k), np.int64))

    def add_image(self, index: int, name: str, img_path: str, label: np.ndarray,
                  preds: Dict[str, np.ndarray], ignore_index: int = IGNORE_INDEX) -> None:
        k = self.num_classes
        d = band_width(label.shape)
        label_bands = class_bands(label, d)
        miou, matrices, bounds = {}, {}, {}
        for role in ROLES:
            matrices[role] = matrix = confusion(preds[role], label, k, ignore_index)
            self.confusion[role] += matrix
            bounds[role] = boundary_counts(preds[role], label, k, d, label_bands, ignore_index)
            self.boundary[role] += bounds[role]
            miou[role] = mean_iou(iou_from_confusion(matrix))
        counts = ImageCounts.of(matrices, bounds, image_breakdown(
            label, preds['baseline'], preds['ssa'], label_bands, k, ignore_index))
        self.images.append(ImageRecord(index, name, img_path, miou, counts))

    @classmethod
    def merge(cls, parts: Sequence['DatasetTotals']) -> 'DatasetTotals':
        """Sum of the counts, images in data-set order (integer sums: order does not matter)."""
        total = cls(parts[0].num_classes)
        for part in parts:
            for role in ROLES:
                total.confusion[role] += part.confusion[role]
                total.boundary[role] += part.boundary[role]
            total.images.extend(part.images)
        total.images.sort(key=lambda r: r.index)
        return total


def _pct(value: Optional[float], digits: int = 4) -> Optional[float]:
    if value is None or not np.isfinite(value):
        return None
    return round(100.0 * float(value), digits)


def confusion_changes(base: np.ndarray, ssa: np.ndarray, classes: Sequence[str],
                      top: int = 10) -> List[dict]:
    """The (true, predicted) pairs of different classes whose pixel count changed most from
    the baseline to SSA-Seg (by absolute change; negative = SSA-Seg makes that mistake less)."""
    diff = np.asarray(ssa, np.int64) - np.asarray(base, np.int64)
    k = len(classes)
    rows = []
    for t in range(k):
        for p in range(k):
            if t != p and (diff[t, p] != 0):
                rows.append(dict(true=str(classes[t]), pred=str(classes[p]),
                                 baseline=int(base[t, p]), ssa=int(ssa[t, p]),
                                 change=int(diff[t, p])))
    rows.sort(key=lambda r: (-abs(r['change']), r['true'], r['pred']))
    return rows[:top]


def gallery_choice(images: Sequence[ImageRecord], k: int) -> Dict[str, List[ImageRecord]]:
    """The ``k`` images where SSA-Seg gains most mIoU over the baseline ('gain', largest
    first) and the ``k`` where it loses most ('loss', largest loss first); no image twice."""
    scored = [r for r in images if r.miou['baseline'] is not None and r.miou['ssa'] is not None]
    order = sorted(scored, key=lambda r: (-(r.miou['ssa'] - r.miou['baseline']), r.index))
    gain = order[:k]
    taken = {r.index for r in gain}
    loss = [r for r in reversed(order) if r.index not in taken][:k]
    return dict(gain=gain, loss=loss)


def summarize(totals: DatasetTotals, classes: Sequence[str], top_confusions: int = 10,
              resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict:
    """The numbers of ``summary.json`` (percent; null where a class has no value), with the
    paired statistics (:mod:`analysis.paired`, ``resamples`` and ``seed``), the band/interior
    breakdown (:mod:`analysis.breakdown`; each confusion change's images are added by
    :func:`analysis.breakdown.add_confusion_images`)."""
    iou = {r: iou_from_confusion(totals.confusion[r]) for r in ROLES}
    biou = {r: boundary_iou(totals.boundary[r]) for r in ROLES}
    pixels = totals.confusion['baseline'].sum(1)
    summary = dict(
        num_images=len(totals.images),
        miou_baseline=_pct(mean_iou(iou['baseline'])), miou_ssa=_pct(mean_iou(iou['ssa'])),
        mbiou_baseline=_pct(mean_iou(biou['baseline'])),
        mbiou_ssa=_pct(mean_iou(biou['ssa'])),
        boundary_ratio=0.02,
        classes=[dict(name=str(name), pixels=int(pixels[c]),
                      iou_baseline=_pct(iou['baseline'][c]), iou_ssa=_pct(iou['ssa'][c]),
                      biou_baseline=_pct(biou['baseline'][c]), biou_ssa=_pct(biou['ssa'][c]))
                 for c, name in enumerate(classes)],
        images=[dict(name=r.name, miou_baseline=_pct(r.miou['baseline']),
                     miou_ssa=_pct(r.miou['ssa'])) for r in totals.images],
        confusion_changes=confusion_changes(totals.confusion['baseline'],
                                            totals.confusion['ssa'], classes, top_confusions),
    )
    if totals.images and all(r.counts is not None for r in totals.images):
        paired = paired_summary([r.counts for r in totals.images], resamples, seed)
        for entry, intervals in zip(summary['classes'], paired.pop('per_class')):
            entry.update(intervals)
        summary.update(paired)
        summary['error_breakdown'] = breakdown_summary(
            sum_breakdowns([r.counts.breakdown for r in totals.images], len(classes)), classes)
    return summary


# --------------------------------------------------------------------------- data

def build_dataset(cfg, data_root: str, split: str = 'val', max_images: Optional[int] = None):
    """The config's test data set (its type and pipeline) on ``data_root`` in
    mmsegmentation's layout: ``img_dir/<split>`` and ``ann_dir/<split>``."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    key = 'test_dataloader' if cfg.get('test_dataloader') else 'val_dataloader'
    loader = cfg.get(key) or {}
    dataset_cfg = copy.deepcopy(loader.get('dataset') or {})
    dataset_cfg = dataset_cfg.to_dict() if hasattr(dataset_cfg, 'to_dict') else dict(dataset_cfg)
    if not dataset_cfg.get('type') or 'datasets' in dataset_cfg or 'dataset' in dataset_cfg:
        raise ValueError('the config needs a plain test data set (test_dataloader.dataset with '
                         'a type; wrappers and concatenations are not supported here)')
    for sub in ('img_dir', 'ann_dir'):
        if not (Path(data_root) / sub / split).is_dir():
            raise FileNotFoundError(f'{Path(data_root) / sub / split} not found (expected '
                                    f'mmsegmentation\'s layout img_dir/{split}, ann_dir/{split})')
    dataset_cfg.update(data_root=str(data_root),
                       data_prefix=dict(img_path=f'img_dir/{split}',
                                        seg_map_path=f'ann_dir/{split}'),
                       test_mode=True)
    types = [t.get('type') for t in dataset_cfg.get('pipeline') or []]
    if 'LoadAnnotations' not in types:
        raise ValueError('the config\'s test pipeline has no LoadAnnotations: no labels to '
                         'compare with')
    dataset = DATASETS.build(dataset_cfg)
    if max_images is not None and max_images < len(dataset):
        dataset = dataset.get_subset(int(max_images))
    if len(dataset) == 0:
        raise ValueError(f'no images in {Path(data_root) / "img_dir" / split}')
    return dataset


def shard_blocks(num_images: int, batch_size: int, rank: int = 0, world_size: int = 1
                 ) -> List[List[int]]:
    """This rank's blocks of consecutive image indices (see the module doc)."""
    blocks = [list(range(s, min(s + batch_size, num_images)))
              for s in range(0, num_images, batch_size)]
    return blocks[rank::world_size]


def _by_input_size(items: List[Tuple[int, dict]]) -> Iterator[List[Tuple[int, dict]]]:
    """Sub-batches of a block with equal network-input size, in first-seen order."""
    groups: Dict[tuple, List[Tuple[int, dict]]] = {}
    for index, data in items:
        groups.setdefault(tuple(data['inputs'].shape), []).append((index, data))
    yield from groups.values()


def predict_block(models: Dict[str, object], dataset, block: Sequence[int]
                  ) -> Iterator[Tuple[int, dict, Dict[str, np.ndarray]]]:
    """(index, pipeline output, {role: H x W prediction}) for every image of a block."""
    import torch

    items = [(i, dataset[i]) for i in block]
    for group in _by_input_size(items):
        batch = dict(inputs=[d['inputs'] for _, d in group],
                     data_samples=[d['data_samples'] for _, d in group])
        preds: Dict[str, List[np.ndarray]] = {}
        with torch.no_grad():
            for role, model in models.items():
                # test_step writes its answer into the data samples: copy it out at once
                samples = model.test_step(dict(inputs=list(batch['inputs']),
                                               data_samples=list(batch['data_samples'])))
                preds[role] = [s.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
                               for s in samples]
        for j, (index, data) in enumerate(group):
            yield index, data, {role: preds[role][j] for role in models}


def sample_label(data: dict) -> np.ndarray:
    """The ground truth of a pipeline output (after the data set's label conventions)."""
    sample = data['data_samples']
    if 'gt_sem_seg' not in sample:
        raise ValueError('the pipeline output has no gt_sem_seg (is LoadAnnotations in the '
                         'test pipeline?)')
    return sample.gt_sem_seg.data[0].cpu().numpy().astype(np.int64)


def image_name(img_path: str) -> str:
    return os.path.basename(img_path)


def dist_info() -> Tuple[int, int]:
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def compare_dataset(baseline, ssa, dataset, num_classes: int, *, batch_size: int = 8,
                    progress: bool = True, ignore_index: int = IGNORE_INDEX
                    ) -> Optional[DatasetTotals]:
    """Both models over the data set (this rank's shard). Under ``torch.distributed`` the
    shards are gathered and merged on rank 0, which gets the totals; other ranks get None."""
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    rank, world = dist_info()
    blocks = shard_blocks(len(dataset), batch_size, rank, world)
    totals = DatasetTotals(num_classes)
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=sum(map(len, blocks)), desc='images' + (f' (rank 0 of {world})'
                                                                 if world > 1 else ''),
                   unit='img', dynamic_ncols=True, file=sys.stderr)
    models = dict(baseline=baseline, ssa=ssa)
    try:
        for block in blocks:
            for index, data, preds in predict_block(models, dataset, block):
                label = sample_label(data)
                img_path = data['data_samples'].img_path
                totals.add_image(index, image_name(img_path), img_path, label, preds,
                                 ignore_index)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if world == 1:
        return totals
    import torch.distributed as dist
    parts: List[Optional[DatasetTotals]] = [None] * world
    dist.all_gather_object(parts, totals)
    return DatasetTotals.merge(parts) if rank == 0 else None


# --------------------------------------------------------------------------- gallery

def _fit(panel: np.ndarray, max_side: int, nearest: bool) -> np.ndarray:
    from ..io import fit_longest_side, resize_rgb, upsample_nearest
    size = fit_longest_side(panel.shape[:2], max_side)
    if size == panel.shape[:2]:
        return panel
    return upsample_nearest(panel, size) if nearest else resize_rgb(panel, size)


def gallery_rows(baseline, ssa, dataset, totals: DatasetTotals, k: int, *, batch_size: int,
                 palette, ignore_index: int = IGNORE_INDEX, max_side: int = 256,
                 chosen: Optional[Dict[str, List[ImageRecord]]] = None):
    """The gallery (:func:`gallery_choice`, or ``chosen``: kind -> records, e.g. the
    drill-down's) as :class:`analysis.dataset.gallery.GalleryRow` objects, panels at most
    ``max_side`` pixels, and the inputs to copy ({name: img_path, label}).

    The models run again on the whole block each chosen image was in, so its masks are
    exactly those that were counted (a batch of another size may round differently)."""
    from .. import io as image_io
    from .gallery import GalleryRow, gallery_panels

    chosen = gallery_choice(totals.images, k) if chosen is None else chosen
    wanted: Dict[int, list] = {}
    for kind, records in chosen.items():
        for rank, r in enumerate(records):
            wanted.setdefault(r.index, []).append((kind, rank + 1, r))
    blocks = sorted({index // batch_size for index in wanted})
    rows, inputs = {}, {}
    models = dict(baseline=baseline, ssa=ssa)
    for b in blocks:
        block = list(range(b * batch_size, min((b + 1) * batch_size, len(dataset))))
        for index, data, preds in predict_block(models, dataset, block):
            if index not in wanted:
                continue
            record = wanted[index][0][2]
            label = sample_label(data)
            rgb = image_io.load_image(record.img_path).rgb
            if rgb.shape[:2] != label.shape:
                rgb = image_io.resize_rgb(rgb, label.shape)
            panels = gallery_panels(rgb, label, preds['baseline'], preds['ssa'], palette,
                                    totals.num_classes, ignore_index)
            panels = [_fit(p, max_side, nearest=i > 0) for i, p in enumerate(panels)]
            for kind, rank, _ in wanted[index]:
                rows[kind, rank] = GalleryRow(kind, rank, record.name,
                                              _pct(record.miou['baseline']),
                                              _pct(record.miou['ssa']), panels)
            inputs[record.name] = dict(img_path=record.img_path, label=label)
    ordered = [rows[kind, rank + 1] for kind, records in chosen.items()
               for rank in range(len(records))]
    return ordered, inputs
