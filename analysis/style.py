"""Colours and paper-figure settings shared by the plotly and matplotlib renderers.

Colours are from the Okabe-Ito palette (distinguishable under the common forms of colour
blindness); continuous maps are viridis/cividis.
"""
from __future__ import annotations

OKABE_ITO = {
    'black': '#000000', 'orange': '#E69F00', 'sky_blue': '#56B4E9',
    'bluish_green': '#009E73', 'yellow': '#F0E442', 'blue': '#0072B2',
    'vermillion': '#D55E00', 'reddish_purple': '#CC79A7',
}

# Roles in the figures.
HIGHLIGHT = OKABE_ITO['blue']          # pixels of the chosen class
REST = '#BBBBBB'                       # every other pixel
FIXED = OKABE_ITO['vermillion']        # fixed prototype S (or basis P)
ADAPTED = OKABE_ITO['bluish_green']    # adapted prototype Sp (or Pp)
CENTER = OKABE_ITO['reddish_purple']   # final center / teacher
TEACHER = OKABE_ITO['orange']
SEQUENTIAL_CMAP = 'viridis'
PLOTLY_SEQUENTIAL = 'Viridis'

# Paper sizes (inches): IEEE/CVPR/NeurIPS-style two-column pages.
SINGLE_COLUMN = 3.4
DOUBLE_COLUMN = 7.0
FONT_SIZE = 7
MIN_FONT_SIZE = 6            # the smallest text of any figure, in printed points
# Widths a figure can be drawn at (``column`` of the matplotlib renderers); every layout keeps
# its height at most MAX_ASPECT times its width, so it fits a page.
COLUMNS = {'one': SINGLE_COLUMN, 'two': DOUBLE_COLUMN}
MAX_ASPECT = 2.0
# How many classes a per-image figure lists by default (the classes with most label pixels):
# a 150-class image has about 90 classes present, a strip no page can print.
MAX_CLASSES = 20

PAPER_RC = {
    'pdf.fonttype': 42,          # embed TrueType: text stays text (editable, searchable)
    'ps.fonttype': 42,
    'svg.fonttype': 'none',      # SVG text as <text>, not paths
    'svg.hashsalt': 'ssa-seg-studio',   # stable element ids: same data, same SVG bytes
    'font.size': FONT_SIZE,
    'axes.titlesize': FONT_SIZE + 1,
    'axes.labelsize': FONT_SIZE,
    'xtick.labelsize': MIN_FONT_SIZE,
    'ytick.labelsize': MIN_FONT_SIZE,
    'legend.fontsize': MIN_FONT_SIZE,
    'axes.linewidth': 0.6,
    'lines.linewidth': 1.0,
    'savefig.dpi': 300,
    'savefig.bbox': 'tight',
    'savefig.pad_inches': 0.02,
    'figure.dpi': 100,
    'image.cmap': SEQUENTIAL_CMAP,
}
