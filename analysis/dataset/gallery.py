"""The qualitative gallery of a data-set comparison: rows image | GT | baseline | SSA-Seg | error.

The error panel is :func:`analysis.colour.error_map`, the same map the app's Segment tab
shows: pixels only SSA-Seg gets right, pixels only the baseline gets right, pixels both get
wrong, each in its own colour; the dimmed image where both are right (darker where the label
is unlabelled).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ssa_seg.classifier import IGNORE_INDEX

from ..colour import ERROR_LEGEND, colorize, error_map

PANELS = ('image', 'ground truth', 'baseline', 'SSA-Seg', 'error map')
GAP = 4                                  # white pixels between the panels of a strip


@dataclass
class GalleryRow:
    """One gallery image: which list it is in, its numbers and its five panels."""
    kind: str                       # 'gain' or 'loss'
    rank: int                       # 1 = largest gain (or loss)
    name: str
    miou_baseline: float            # percent
    miou_ssa: float
    panels: List[np.ndarray]        # H x W x 3 uint8 each, in PANELS order

    @property
    def stem(self) -> str:
        return f'{self.kind}_{self.rank:02d}_{Path(self.name).stem}'


def gallery_panels(image: np.ndarray, label: np.ndarray, baseline: np.ndarray,
                   ssa: np.ndarray, palette, num_classes: int,
                   ignore_index: int = IGNORE_INDEX) -> List[np.ndarray]:
    """The five panels of a row; ignored label pixels are black in the ground truth."""
    return [image, colorize(label, palette, num_classes), colorize(baseline, palette, num_classes),
            colorize(ssa, palette, num_classes),
            error_map(image, baseline, ssa, label, ignore_index)]


def strip(panels: Sequence[np.ndarray], gap: int = GAP) -> np.ndarray:
    """The panels side by side with white gaps (one PNG per gallery row)."""
    height = max(p.shape[0] for p in panels)
    parts = []
    for i, panel in enumerate(panels):
        if panel.shape[0] < height:
            pad = np.full((height - panel.shape[0], panel.shape[1], 3), 255, np.uint8)
            panel = np.concatenate([panel, pad])
        parts.append(panel)
        if i < len(panels) - 1:
            parts.append(np.full((height, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=1)


def gallery_figure(rows: Sequence[GalleryRow], title: Optional[str] = None):
    """One matplotlib page: a row per image, the five panels with column titles, each row
    named with the image and both mIoUs; a legend of the error colours at the bottom."""
    from matplotlib.patches import Patch

    from ..figures.paper import new_figure

    n = max(len(rows), 1)
    fig = new_figure(8.27, min(11.0, 0.6 + 1.55 * n))
    axes = fig.subplots(n, len(PANELS), squeeze=False)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row.panels):
            ax = axes[r][c]
            ax.imshow(panel, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(PANELS[c], fontsize=8)
        delta = row.miou_ssa - row.miou_baseline
        axes[r][0].set_ylabel(f'{row.name}\n{row.miou_baseline:.1f} -> {row.miou_ssa:.1f}\n'
                              f'({delta:+.1f} mIoU)', fontsize=6)
    if not rows:
        for ax in axes[0]:
            ax.set_axis_off()
    handles = [Patch(color=np.array(rgb) / 255, label=text) for rgb, text in ERROR_LEGEND]
    fig.legend(handles=handles, loc='outside lower center', ncols=3, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
