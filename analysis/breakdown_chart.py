"""The band/interior chart of a data-set report (``error_breakdown.png/.pdf``).

Left: per ground-truth class (and all classes), the boundary band and the interior, each a
bar of the error categories as a share of that region's labelled pixels of the class (only
SSA-Seg right, only the baseline right, both wrong; both right is the rest of the bar).
Right: the net pixels SSA-Seg turns right (only SSA-Seg right - only baseline right) in the
band and in the interior, per class: where the gain is.
"""
from __future__ import annotations

import numpy as np

from .breakdown import REGIONS
from .colour import ERROR_LEGEND

CATEGORY_KEYS = ('only_ssa', 'only_baseline', 'both_wrong')      # in ERROR_LEGEND's order
REGION_HATCH = {'band': '', 'interior': '///'}


def _rows(breakdown: dict) -> list:
    """[(name, {region: counts})]: 'all' first, then the classes with labelled pixels."""
    rows = [('all', {r: breakdown[r] for r in REGIONS})]
    rows += [(c['name'], {r: c[r] for r in REGIONS}) for c in breakdown['classes']
             if any(c[r]['labelled'] for r in REGIONS)]
    return rows


def _share(counts: dict, key: str) -> float:
    return 100.0 * counts[key] / counts['labelled'] if counts['labelled'] else 0.0


def breakdown_figure(summary: dict):
    """The matplotlib figure of ``summary['error_breakdown']`` (see the module doc)."""
    from .figures.paper import new_figure

    breakdown = summary['error_breakdown']
    rows = _rows(breakdown)
    fig = new_figure(7.0, max(2.4, 0.9 + 0.36 * len(rows)))
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(rows))
    for offset, region in ((-0.2, 'band'), (0.2, 'interior')):
        start = np.zeros(len(rows))
        for key, (rgb, text) in zip(CATEGORY_KEYS, ERROR_LEGEND):
            values = np.array([_share(counts[region], key) for _, counts in rows])
            left.barh(y + offset, values, left=start, height=0.38, color=np.array(rgb) / 255,
                      hatch=REGION_HATCH[region], edgecolor='white', linewidth=0.3,
                      label=text if region == 'band' else None)
            start += values
        # per class only: the 'all' row would dwarf them (its numbers are in the title)
        net = [0 if name == 'all' else
               (counts[region]['only_ssa'] - counts[region]['only_baseline']) / 1000
               for name, counts in rows]
        right.barh(y + offset, net, height=0.38, color='#009e73' if region == 'band'
                   else '#56b4e9', hatch=REGION_HATCH[region], edgecolor='white',
                   linewidth=0.3, label=region)
    left.set_yticks(y, [name for name, _ in rows])
    left.invert_yaxis()
    left.set_xlabel('% of the region\'s labelled pixels\n(upper bar: band, lower: interior)')
    left.legend(fontsize=6, frameon=False, loc='lower right')
    right.axvline(0, color='#333333', linewidth=0.8)
    right.set_xlabel('thousand pixels only SSA-Seg gets right\nminus only the baseline gets '
                     'right (per class)')
    right.legend(fontsize=6, frameon=False, loc='lower right')
    ratio = breakdown['fixed_ratio']
    share = breakdown['fixed_in_band']
    fig.suptitle('Boundary band (Boundary IoU\'s GT band, d = 2% of the diagonal) vs interior\n'
                 'only-SSA-Seg-right / only-baseline-right pixels: '
                 + ', '.join(f'{r} {ratio[r]:.2f}x' for r in REGIONS
                             if ratio[r] is not None)
                 + (f'; {share:.0%} of the pixels SSA-Seg fixes are in the band'
                    if share is not None else ''), fontsize=7)
    return fig
