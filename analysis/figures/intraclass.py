"""Figure kind ``intraclass`` (paper Fig. 7): one class's pixel features from several images
in one t-SNE, coloured by image, with the fixed prototype and each image's adapted centre.

Space: the SSA-Seg decision space, F + Pf (L2-normalised), where the centres
``center_proj(Sp + Pp)`` classify; the fixed prototype S_k is embedded with them. Numbers
(cosines, with the centroid of :mod:`analysis.shift`: the normalised mean of normalised
pixel vectors, one centroid per image):

* ``within``: mean over images of the mean cos(pixel, its own image's centroid);
* ``between``: mean over image pairs of cos(centroid_i, centroid_j) (lower than
  ``within`` = the class moves between images: large intra-class variance);
* ``center_own`` / ``center_other``: mean cos(centre_i, centroid_i) and mean over j != i of
  cos(centre_i, centroid_j); ``center_nearest_own``: share of images whose centre is nearer
  its own image's centroid than any other image's (the centre follows the image);
* ``fixed``: mean cos(S_k, centroid_i(F)) (the fixed prototype, in F, its own space);
* ``pixels_nearest_own_image``: share of the class's pixels nearer their own image's
  centroid than any other image's (chance: 1 / number of images): high = each image's
  pixels of the class form their own group, the variance a fixed prototype cannot follow.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch

from .. import style
from ..tsne import embed
from ._registry import FigureKind, register_figure
from .paper import column_width, new_figure, short_name

MIN_PIXELS = 20
DEFAULT_IMAGES = 6


@dataclass
class IntraclassData:
    class_name: str
    image_names: List[str]
    points: np.ndarray              # N x 2
    point_image: np.ndarray         # N, index into image_names
    fixed_point: np.ndarray         # 2
    center_points: np.ndarray       # len(image_names) x 2
    numbers: Dict[str, float] = field(default_factory=dict)
    model_name: str = ''

    def to_json_dict(self) -> dict:
        return {'class': self.class_name, 'images': self.image_names, 'model': self.model_name,
                **self.numbers}


def _unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.to(torch.float64), dim=-1, eps=1e-12)


def intraclass_numbers(pixels: List[torch.Tensor], centers: torch.Tensor,
                       fixed: Optional[torch.Tensor] = None,
                       fixed_pixels: Optional[List[torch.Tensor]] = None) -> Dict[str, float]:
    """The numbers above from per-image pixel rows (n_i x C, decision space), the per-image
    centres (M x C), and optionally S_k (C) with per-image pixel rows in F."""
    cents = torch.stack([_unit(_unit(p).mean(0)) for p in pixels])         # M x C
    within = float(np.mean([(_unit(p) @ c).mean().item() for p, c in zip(pixels, cents)]))
    m = len(pixels)
    off = ~torch.eye(m, dtype=torch.bool)
    between = float((cents @ cents.t())[off].mean()) if m > 1 else float('nan')
    cc = _unit(centers) @ cents.t()                                          # M x M
    nearest = [(_unit(p) @ cents.t()).argmax(1) == i for i, p in enumerate(pixels)]
    out = {'within': within, 'between': between,
           'pixels_nearest_own_image': float(torch.cat(nearest).double().mean()),
           'center_own': float(cc.diagonal().mean()),
           'center_other': float(cc[off].mean()) if m > 1 else float('nan'),
           'center_nearest_own': float(np.mean([int(cc[i].argmax()) == i for i in range(m)])),
           'num_images': m, 'num_pixels': int(sum(len(p) for p in pixels))}
    if fixed is not None and fixed_pixels is not None:
        fc = torch.stack([_unit(_unit(p).mean(0)) for p in fixed_pixels])
        out['fixed'] = float((fc @ _unit(fixed)).mean())
    return out


def _pick_class(extractions, min_pixels: int) -> int:
    counts = np.zeros(extractions[0].num_classes, dtype=np.int64)
    pixels = np.zeros_like(counts)
    for e in extractions:
        c = np.bincount(e.label[e.label != 255].numpy(), minlength=len(counts))
        counts += c >= min_pixels
        pixels += c
    return int(np.lexsort((pixels, counts))[-1])


def intraclass_data(figure_set, class_name=None, num_images: int = DEFAULT_IMAGES,
                    max_points: int = 2400, seed: int = 0, min_pixels: int = MIN_PIXELS,
                    **_) -> IntraclassData:
    exs = figure_set.all_extractions('ssa')
    if any(e.label is None for e in exs):
        raise ValueError('the intra-class figure needs labelled images')
    k = exs[0].class_index(class_name) if class_name is not None else _pick_class(exs,
                                                                                    min_pixels)
    chosen = [e for e in exs if int((e.label == k).sum()) >= min_pixels][:num_images]
    if not chosen:
        raise ValueError(f'class {exs[0].class_names[k]!r} has < {min_pixels} pixels in '
                         'every image')
    rng = np.random.default_rng(seed)
    per_image = max(max_points // len(chosen), 1)
    pixels, fixed_pixels, rows, owner = [], [], [], []
    for i, e in enumerate(chosen):
        joint = (e.feat + e.pos_feat).reshape(e.feat.shape[0], -1).t()
        members = torch.nonzero(e.label.reshape(-1) == k).flatten()
        pixels.append(joint[members])
        fixed_pixels.append(e.feat.reshape(e.feat.shape[0], -1).t()[members])
        pick = np.sort(rng.choice(len(members), min(per_image, len(members)), replace=False))
        rows.append(joint[members[pick]].numpy())
        owner.append(np.full(len(pick), i))
    centers = torch.stack([e.centers[k] for e in chosen])
    fixed = chosen[0].fixed_protos[k]
    numbers = intraclass_numbers(pixels, centers, fixed, fixed_pixels)
    stacked = np.concatenate(rows + [fixed.numpy()[None], centers.numpy()]).astype(np.float32)
    y = embed(stacked, seed=seed)
    n = sum(len(r) for r in rows)
    return IntraclassData(
        class_name=exs[0].class_names[k], image_names=[e.image_name for e in chosen],
        points=y[:n], point_image=np.concatenate(owner), fixed_point=y[n],
        center_points=y[n + 1:], numbers=numbers, model_name=figure_set.model_name('ssa'))


def caption(data: IntraclassData) -> str:
    n = data.numbers
    m = n['num_images']
    grouped = n['pixels_nearest_own_image'] > 0.5
    follows = n['center_nearest_own'] > 0.5
    return (f'Pixel features of "{data.class_name}" from {m} images in one t-SNE (SSA-Seg '
            'decision space F + Pf), coloured by image, with the fixed prototype S (star) and '
            'each image\'s adapted centre (square, image colour). Paper (Fig. 7): large '
            'intra-class variance across images, which a fixed prototype cannot follow. Here: '
            f'{n["pixels_nearest_own_image"]:.0%} of the pixels are nearer their own image\'s '
            f'centroid than any other image\'s (chance {1 / m:.0%}); mean cos to the own '
            f'centroid {n["within"]:.3f}, between image centroids {n["between"]:.3f}; each '
            f'centre is nearest its own image\'s centroid in {n["center_nearest_own"]:.0%} of '
            f'images (cos own {n["center_own"]:.3f} vs other {n["center_other"]:.3f}); the '
            'centres are far from every pixel (low cosines), so t-SNE may draw several on one '
            'spot: the numbers, not the positions, say which image a centre follows. The '
            f'claim {"holds" if grouped and follows else "does not hold"} here.')


def _image_colours(m: int):
    # Vermillion is the fixed prototype's colour in every figure.
    palette = [style.OKABE_ITO[k] for k in ('blue', 'orange', 'bluish_green', 'reddish_purple',
                                             'sky_blue', 'yellow', 'black')] + ['#888888']
    return [palette[i % len(palette)] for i in range(m)]


def intraclass_matplotlib(data: IntraclassData, column=None):
    """One t-SNE panel; natural width one column (legend below), at two columns the panel
    keeps its size and the legend goes beside it."""
    from matplotlib.lines import Line2D
    width = column_width(column, 'one')
    wide = width > style.SINGLE_COLUMN
    fig = new_figure(width, min(width, 3.6) * 0.9)
    ax = fig.subplots()
    colours = _image_colours(len(data.image_names))
    for i, colour in enumerate(colours):
        pts = data.points[data.point_image == i]
        ax.scatter(pts[:, 0], pts[:, 1], s=1.5, c=colour, linewidths=0, rasterized=True)
        ax.scatter(*data.center_points[i], s=45, marker='s', c=colour, edgecolors='black',
                   linewidths=0.6, zorder=5)
    ax.scatter(*data.fixed_point, s=130, marker='*', c=style.FIXED, edgecolors='black',
               linewidths=0.5, zorder=6)
    handles = [Line2D([], [], ls='', marker='o', ms=3, mfc=c, mec='none',
                      label=data.image_names[i] or f'image {i}')
               for i, c in enumerate(colours)]
    handles += [Line2D([], [], ls='', marker='s', ms=5, mfc='white', mec='black',
                       label='adapted centre (image colour)'),
                Line2D([], [], ls='', marker='*', ms=7, mfc=style.FIXED, mec='black', mew=0.5,
                       label='fixed prototype S')]
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect('equal', adjustable='datalim')
    ax.set_title(f'{short_name(data.class_name)}: pixels of {len(data.image_names)} images',
                 pad=2)
    fig.legend(handles=handles, loc='outside right center' if wide else 'outside lower center',
               ncol=1 if wide else 2, frameon=False, fontsize=style.MIN_FONT_SIZE,
               handletextpad=0.2, columnspacing=0.8)
    return fig


def intraclass_plotly(data: IntraclassData):
    import plotly.graph_objects as go
    fig = go.Figure()
    for i, colour in enumerate(_image_colours(len(data.image_names))):
        pts = data.points[data.point_image == i]
        name = data.image_names[i] or f'image {i}'
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode='markers', name=name,
                                 legendgroup=name, marker=dict(size=4, color=colour)))
        fig.add_trace(go.Scatter(x=[data.center_points[i][0]], y=[data.center_points[i][1]],
                                 mode='markers', name=f'centre, {name}', legendgroup=name,
                                 showlegend=False,
                                 marker=dict(symbol='square', size=13, color=colour,
                                             line=dict(width=1, color='black'))))
    fig.add_trace(go.Scatter(x=[data.fixed_point[0]], y=[data.fixed_point[1]], mode='markers',
                             name='fixed prototype S',
                             marker=dict(symbol='star', size=20, color=style.FIXED,
                                         line=dict(width=1, color='black'))))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, scaleanchor='x')
    fig.update_layout(template='plotly_white', height=480, autosize=True,
                      title=dict(text=f'"{data.class_name}" across images', x=0.5))
    return fig


KIND = register_figure(FigureKind(
    name='intraclass', title='One class across images (Fig. 7)', data=intraclass_data,
    data_type=IntraclassData, plotly=intraclass_plotly, matplotlib=intraclass_matplotlib,
    to_json=IntraclassData.to_json_dict, level='set', roles=('ssa',), caption=caption))
