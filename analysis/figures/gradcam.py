"""Figure kind ``gradcam`` (paper Fig. 8): Grad-CAM on the backbone's last features for a few
classes, baseline and SSA-Seg side by side with their predicted masks.

The maps come from the ``grad-cam`` package (``pytorch_grad_cam.GradCAM`` with its
``SemanticSegmentationTarget``): the target of class k is the sum of the model's class-k
logits (upsampled to the network input) over the class's label mask, so both models
explain the same region. The hooked layer is an identity inserted on the backbone's last
output, before the neck and the decode head. Number per (class, model): the share of the
CAM inside the class's label mask (1 = all attention on the class), with the model's IoU
of the class on this image.

grad-cam imports torchvision at module level for helpers this figure does not use (image
preprocessing, SESS, Faster R-CNN box targets). The registries have no torchvision build
for the CPU-only torch here (the CUDA build cannot load its operators), so when
torchvision is missing or broken, :func:`import_gradcam` gives grad-cam a stand-in module
for that import only and removes it again.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import style
from ._registry import FigureKind, register_figure
from .paper import column_width, new_figure, page_height, short_name

ROLES = ('baseline', 'ssa')
ROLE_NAMES = {'baseline': 'Baseline', 'ssa': 'SSA-Seg'}
DEFAULT_CLASSES = 3


def _torchvision_works() -> bool:
    try:
        import torchvision  # noqa: F401
        return True
    except Exception:      # ImportError, or RuntimeError from a build for another torch
        for name in [m for m in sys.modules if m == 'torchvision' or
                     m.startswith('torchvision.')]:
            del sys.modules[name]
        return False


def import_gradcam():
    """``(GradCAM, SemanticSegmentationTarget)`` from the grad-cam package."""
    if 'pytorch_grad_cam' not in sys.modules and not _torchvision_works():
        def unavailable(*_args, **_kwargs):
            raise RuntimeError('torchvision is not available here')
        stand_in = {name: types.ModuleType(name) for name in (
            'torchvision', 'torchvision.transforms', 'torchvision.transforms.functional',
            'torchvision.ops')}
        for attr in ('Compose', 'Normalize', 'ToTensor'):
            setattr(stand_in['torchvision.transforms'], attr, unavailable)
        stand_in['torchvision.transforms.functional'].resize = unavailable
        stand_in['torchvision.ops'].box_iou = unavailable
        stand_in['torchvision'].transforms = stand_in['torchvision.transforms']
        stand_in['torchvision'].ops = stand_in['torchvision.ops']
        sys.modules.update(stand_in)
        try:
            import pytorch_grad_cam  # noqa: F401
            import pytorch_grad_cam.utils.model_targets  # noqa: F401
        finally:
            for name in stand_in:
                sys.modules.pop(name, None)
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget
    return GradCAM, SemanticSegmentationTarget


class BackboneTap(nn.Module):
    """A segmentor as ``image tensor -> logits at input size``, with its backbone's last
    output passed through ``self.tap`` (an identity that Grad-CAM hooks).

    backbone_graph: False runs the backbone without recording a graph and makes the tapped
    output the leaf the gradients stop at: the gradient at the tap is the same (it only
    depends on what comes after it), but a backward no longer goes through the backbone."""

    def __init__(self, segmentor, backbone_graph: bool = True):
        super().__init__()
        if hasattr(segmentor, 'num_stages'):
            raise ValueError('Grad-CAM: cascade segmentors are not supported')
        self.segmentor = segmentor
        self.tap = nn.Identity()
        self.backbone_graph = backbone_graph

    def forward(self, x):
        with torch.set_grad_enabled(self.backbone_graph and torch.is_grad_enabled()):
            feats = list(self.segmentor.backbone(x))
        if not self.backbone_graph and torch.is_grad_enabled():
            feats[-1] = feats[-1].detach().requires_grad_(True)
        feats[-1] = self.tap(feats[-1])
        if getattr(self.segmentor, 'with_neck', False):
            feats = self.segmentor.neck(feats)
        logits = self.segmentor.decode_head.forward(feats)
        head = self.segmentor.decode_head
        return F.interpolate(logits, size=x.shape[-2:], mode='bilinear',
                             align_corners=bool(getattr(head, 'align_corners', False)))


def gradcam_maps(segmentor, inputs: torch.Tensor, masks: Dict[int, np.ndarray],
                 shared_forward: bool = True):
    """Grad-CAM maps (H x W in [0, 1], the package's normalisation) per class, and the
    prediction (H x W) at the input size. inputs: 1 x 3 x H x W preprocessed; masks: class
    -> H x W float mask of the region whose class logits are explained.

    shared_forward: one forward pass gives the prediction and every class's map (one
    backward per class through the kept graph of the neck and head only: the backbone
    runs without one, :class:`BackboneTap`); False runs the package's ``cam()`` per
    class, a forward and a backward through the whole network each, plus a forward for
    the prediction (the former way, kept for ``bench/bench_figures_scale.py``). Both give
    the same maps."""
    GradCAM, SemanticSegmentationTarget = import_gradcam()
    wrapper = BackboneTap(segmentor, backbone_graph=not shared_forward).eval()
    targets = {k: SemanticSegmentationTarget(int(k), np.asarray(mask, dtype=np.float32))
               for k, mask in masks.items()}
    with GradCAM(model=wrapper, target_layers=[wrapper.tap]) as cam:
        if shared_forward:
            return _maps_of_one_forward(cam, inputs, targets)
        with torch.no_grad():
            pred = wrapper(inputs)[0].argmax(0).numpy()
        return {k: cam(input_tensor=inputs, targets=[t])[0] for k, t in targets.items()}, pred


def _maps_of_one_forward(cam, inputs: torch.Tensor, targets: Dict[int, object]):
    """What ``cam(input_tensor=inputs, targets=[t])`` gives for each target, from one
    forward: the package's own activation hooks, CAM weights and scaling, with the
    gradients of one target at a time (each backward reuses the graph)."""
    outputs = cam.activations_and_grads(inputs)
    maps = {}
    for k, target in targets.items():
        cam.activations_and_grads.gradients = []      # its hook prepends each backward's
        cam.model.zero_grad()
        target(outputs[0]).backward(retain_graph=True)
        maps[k] = cam.aggregate_multi_layers(
            cam.compute_cam_per_layer(inputs, [target], False))[0]
    cam.model.zero_grad()                  # the head's parameter gradients are not kept
    return maps, outputs[0].detach().argmax(0).numpy()


def share_inside(cam: np.ndarray, mask: np.ndarray) -> float:
    """Share of the map's total inside the mask."""
    total = float(cam.sum())
    return float((cam * mask).sum() / total) if total > 0 else float('nan')


def iou(pred: np.ndarray, label: np.ndarray, k: int) -> float:
    p, t = pred == k, label == k
    union = np.logical_and(label != 255, p | t).sum()
    return float(np.logical_and(p, t).sum() / union) if union else float('nan')


@dataclass
class GradcamData:
    image: np.ndarray                   # H x W x 3 uint8 (the network input's geometry)
    image_name: str
    classes: List[str]
    label: np.ndarray                   # H x W
    cams: Dict[str, Dict[str, np.ndarray]] = field(default_factory=dict)   # role -> class ->
    preds: Dict[str, np.ndarray] = field(default_factory=dict)             # role -> H x W
    inside: Dict[str, Dict[str, float]] = field(default_factory=dict)      # role -> class ->
    ious: Dict[str, Dict[str, float]] = field(default_factory=dict)
    class_ids: List[int] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        return {'image': self.image_name, 'classes': self.classes,
                'cam_share_inside_label': self.inside, 'iou': self.ious}


def _input_image(inputs: torch.Tensor, preprocessor) -> np.ndarray:
    """The network input back in RGB uint8 (undo mean/std)."""
    x = inputs[0].detach().float()
    mean = getattr(preprocessor, 'mean', None)
    std = getattr(preprocessor, 'std', None)
    if mean is not None and std is not None:
        x = x * std.reshape(-1, 1, 1) + mean.reshape(-1, 1, 1)
    return x.clamp(0, 255).byte().permute(1, 2, 0).numpy()


def gradcam_data(figure_set, classes: Optional[Sequence[str]] = None, image_index=None,
                 num_classes: int = DEFAULT_CLASSES, shared_forward: bool = True,
                 **_) -> GradcamData:
    """Grad-CAM of ``num_classes`` classes (the largest in the label, or ``classes``) on one
    image of the set (``image_index``, default the one with most classes covering >= 3%),
    both models; ``shared_forward``: see :func:`gradcam_maps`."""
    from ssa_seg.apis import prepare_inputs

    from .. import io as image_io
    from ..extract import _metainfo, label_to_feature_grid

    exs = figure_set.all_extractions('ssa')
    if image_index is None:     # the first image with the most classes covering >= 3%
        def rich(e):
            lab = e.label[e.label != 255]
            share = np.bincount(lab.numpy(), minlength=e.num_classes) / max(lab.numel(), 1)
            return int((share >= 0.03).sum())
        image_index = max(range(len(exs)), key=lambda i: (rich(exs[i]), -i))
    e = exs[image_index]
    image_path, label_path = figure_set.images[image_index] if figure_set.images else (None,
                                                                                        None)
    ssa_model = figure_set.model('ssa')
    inputs, sample = prepare_inputs(ssa_model, e.image)
    size = tuple(inputs.shape[-2:])
    loaded = image_io.load_image(str(image_path)) if image_path else None
    if label_path is not None:
        lab = image_io.load_label(str(label_path), loaded.size, e.num_classes, palette=e.palette)
        lab = image_io.upsample_nearest(lab, loaded.work_size)
        label = label_to_feature_grid(lab, size, e.num_classes, _metainfo(sample)).numpy()
    else:
        label = F.interpolate(e.label[None, None].float(), size=size,
                              mode='nearest')[0, 0].long().numpy()
    if classes:
        ids = [e.class_index(c) for c in classes]
    else:
        counts = np.bincount(label[label != 255], minlength=e.num_classes)
        ids = [int(k) for k in np.argsort(-counts, kind='stable')[:num_classes] if counts[k]]
    masks = {k: (label == k).astype(np.float32) for k in ids}
    data = GradcamData(image=_input_image(inputs, ssa_model.data_preprocessor),
                       image_name=e.image_name, classes=[e.class_names[k] for k in ids],
                       label=label, class_ids=ids)
    for role in ROLES:
        model = figure_set.model(role)
        role_inputs, _ = prepare_inputs(model, e.image)
        maps, pred = gradcam_maps(model, role_inputs, masks, shared_forward)
        data.preds[role] = pred
        data.cams[role] = {e.class_names[k]: maps[k] for k in ids}
        data.inside[role] = {e.class_names[k]: share_inside(maps[k], masks[k]) for k in ids}
        data.ious[role] = {e.class_names[k]: iou(pred, label, k) for k in ids}
    return data


def caption(data: GradcamData) -> str:
    parts = '; '.join(
        f'{c}: {data.inside["baseline"][c]:.0%} vs {data.inside["ssa"][c]:.0%} '
        f'(IoU {data.ious["baseline"][c]:.2f} vs {data.ious["ssa"][c]:.2f})'
        for c in data.classes)
    better = sum(data.inside['ssa'][c] > data.inside['baseline'][c] for c in data.classes)
    return (f'Grad-CAM (grad-cam package) on the backbone\'s last features of '
            f'{data.image_name}, target: each class\'s logits summed over its label mask; '
            'baseline and SSA-Seg with their predicted masks. Paper (Fig. 8): SSA-Seg\'s '
            'activations cover the classes more completely and precisely. Number: share of '
            f'the CAM inside the label mask, baseline vs SSA-Seg: {parts}. SSA-Seg\'s CAM is '
            f'more inside the class for {better} of {len(data.classes)} classes; the claim '
            f'{"holds" if better * 2 > len(data.classes) else "does not hold"} here '
            '(one image: an illustration, not a measurement).')


TITLES = {'two': ['image + label', 'Baseline mask', 'Baseline Grad-CAM', 'SSA-Seg mask',
                  'SSA-Seg Grad-CAM'],
          'one': ['label', 'base mask', 'base CAM', 'SSA mask', 'SSA CAM']}


def gradcam_matplotlib(data: GradcamData, column=None):
    """One row per class: the label, then each model's mask and Grad-CAM (natural width:
    two columns; at one column the same grid with short titles)."""
    n = len(data.classes)
    width = column_width(column, 'two')
    titles = TITLES['one' if width < style.DOUBLE_COLUMN else 'two']
    aspect = data.image.shape[0] / max(data.image.shape[1], 1)
    panel_h = (width - 0.3) / 5 * aspect
    fig = new_figure(width, page_height(width, n * (panel_h + 0.22) + 0.3))
    axes = fig.subplots(n, 5, squeeze=False)
    for row, (name, k) in enumerate(zip(data.classes, data.class_ids)):
        panels = [(data.image, data.label == k, None)]
        for role in ROLES:
            panels.append((data.image, data.preds[role] == k, None))
            panels.append((data.image, None, data.cams[role][name]))
        for col, (ax, (img, mask, cam)) in enumerate(zip(axes[row], panels)):
            _gradcam_panel(ax, data, name, col, img, mask, cam)
            if row == 0:
                ax.set_title(titles[col], pad=2)
        axes[row][0].set_ylabel(short_name(name, 12))
    return fig


def _gradcam_panel(ax, data: GradcamData, name: str, col: int, img, mask, cam) -> None:
    """One image panel: a mask or a CAM over the image, its number below."""
    ax.imshow(img)
    if mask is not None:
        ax.imshow(np.ma.masked_where(~mask, mask), cmap='autumn', alpha=0.55,
                  interpolation='nearest')
    if cam is not None:
        ax.imshow(cam, cmap='jet', alpha=0.5, vmin=0, vmax=1)
        role = ROLES[(col - 2) // 2]
        ax.set_xlabel(f'inside {data.inside[role][name]:.0%}', fontsize=style.MIN_FONT_SIZE,
                      labelpad=1)
    elif col in (1, 3):
        role = ROLES[(col - 1) // 2]
        ax.set_xlabel(f'IoU {data.ious[role][name]:.2f}', fontsize=style.MIN_FONT_SIZE,
                      labelpad=1)
    ax.set_xticks([])
    ax.set_yticks([])


def gradcam_plotly(data: GradcamData):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    n = len(data.classes)
    titles = [f'{name}: {ROLE_NAMES[role]} (inside {data.inside[role][name]:.0%})'
              for name in data.classes for role in ROLES]
    fig = make_subplots(rows=n, cols=2, subplot_titles=titles, vertical_spacing=0.06,
                        horizontal_spacing=0.03)
    for row, name in enumerate(data.classes, start=1):
        for col, role in enumerate(ROLES, start=1):
            fig.add_trace(go.Image(z=data.image), row=row, col=col)
            fig.add_trace(go.Heatmap(z=data.cams[role][name], colorscale='Jet', opacity=0.5,
                                     zmin=0, zmax=1, showscale=False), row=row, col=col)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange='reversed')
    fig.update_layout(template='plotly_white', height=260 * n + 80, autosize=True,
                      title=dict(text=f'Grad-CAM on {data.image_name}', x=0.5))
    return fig


KIND = register_figure(FigureKind(
    name='gradcam', title='Grad-CAM, baseline vs SSA-Seg (Fig. 8)', data=gradcam_data,
    data_type=GradcamData, plotly=gradcam_plotly, matplotlib=gradcam_matplotlib,
    to_json=GradcamData.to_json_dict, level='set', roles=('baseline', 'ssa'), caption=caption))
