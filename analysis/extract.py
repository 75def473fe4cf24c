"""One pass through a model that keeps everything the analysis figures need.

:func:`extract` is the only place that pulls features and prototypes out of a model; the
app, the CLI and the figure functions all work on the :class:`Extraction` it returns.
Symbols follow ``docs/method.md``: F pixel features, Pf spatial features, M coarse mask,
S fixed prototypes, Sp adapted semantic prototypes, Pp spatial prototypes, P position
basis, S_hat / P_hat the ground-truth teacher's prototypes.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ssa_seg.classifier import DEFAULT_TEMPERATURE, IGNORE_INDEX

from .feature_grid import FeatureGrid
from .io import ImageSource, LoadedImage, load_image, load_label, upsample_nearest


@dataclass
class Extraction:
    """Features, prototypes and predictions of one model on one image (CPU, batch dim dropped).

    Always set (SSA-Seg and vanilla models):
        feat: C x h x w float32, F (the head feature the classifier sees).
        fixed_protos: K x C float32, S (rows of ``conv_seg``).
        logits: K x h x w float32, the classifier's output at feature resolution.
        pred: h x w int64, argmax of ``logits``.
        pred_image: H x W int64, the model's prediction at image resolution (what
            ``inference_model`` returns).
    SSA-Seg models only (None for a vanilla head):
        pos_feat: C x h x w, Pf.   coarse: K x h x w, M.
        sem_protos: K x C, Sp.     pos_protos: K x C, Pp.   pos_basis: K x C, P.
        centers: K x C, ``center_proj(Sp + Pp)``.
    With a label (``label`` is then h x w int64 at feature resolution, 255 = ignore):
        teacher_sem_protos: K x C, S_hat.   teacher_pos_protos: K x C, P_hat (SSA-Seg only).
        image_label: H x W int64, the label at the processing size (``image.shape[:2]``),
            values outside 0..K-1 as 255: what ``label`` was made from.
    grid: where the h x w feature cells lie on the H x W image
        (:class:`analysis.feature_grid.FeatureGrid`, from the test pipeline's geometry).
    """
    model_name: str
    class_names: List[str]
    palette: Optional[List[Tuple[int, int, int]]]
    image: Optional[np.ndarray]
    feat: Tensor
    fixed_protos: Tensor
    logits: Tensor
    pred: Tensor
    pred_image: Tensor
    pos_feat: Optional[Tensor] = None
    coarse: Optional[Tensor] = None
    sem_protos: Optional[Tensor] = None
    pos_protos: Optional[Tensor] = None
    pos_basis: Optional[Tensor] = None
    centers: Optional[Tensor] = None
    label: Optional[Tensor] = None
    teacher_sem_protos: Optional[Tensor] = None
    teacher_pos_protos: Optional[Tensor] = None
    image_label: Optional[Tensor] = None
    grid: Optional[FeatureGrid] = None
    image_name: str = ''
    temperature: float = DEFAULT_TEMPERATURE   # the SSA classifier's (vanilla heads: 15)

    @property
    def is_ssa(self) -> bool:
        return self.sem_protos is not None

    @property
    def num_classes(self) -> int:
        return int(self.fixed_protos.shape[0])

    @property
    def feature_size(self) -> Tuple[int, int]:
        return tuple(self.feat.shape[-2:])

    def mask(self) -> Tuple[Tensor, str]:
        """The class map at feature resolution that defines "pixels of class k":
        the label when one was given, else the prediction. Returns (h x w, source)."""
        if self.label is not None:
            return self.label, 'label'
        return self.pred, 'prediction'

    def present_classes(self) -> List[int]:
        """Class ids present in :meth:`mask`, most pixels first."""
        mask, _ = self.mask()
        m = mask.reshape(-1)
        counts = torch.bincount(m[m != IGNORE_INDEX], minlength=self.num_classes)
        order = torch.argsort(counts, descending=True, stable=True)
        return [int(i) for i in order if counts[i] > 0]

    def class_index(self, name: Union[str, int]) -> int:
        """Index of a class given by name (case-insensitive) or by index."""
        return class_index(self.class_names, name)


def class_index(class_names: Sequence[str], name: Union[str, int]) -> int:
    """Resolve a class name (exact, then case-insensitive) or an integer index.

    Raises KeyError with the closest names when unknown.
    """
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        if 0 <= int(name) < len(class_names):
            return int(name)
        raise KeyError(f'class index {name} out of range 0..{len(class_names) - 1}')
    names = list(class_names)
    name = clean_class_name(name) if isinstance(name, str) else name
    if name in names:
        return names.index(name)
    lowered = [clean_class_name(n).lower() for n in names]
    if str(name).lower() in lowered:
        return lowered.index(str(name).lower())
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.5)
    hint = f'; did you mean {", ".join(repr(c) for c in close)}?' if close else ''
    raise KeyError(f'unknown class {name!r}{hint} (classes: {", ".join(names)})')


def _metainfo(data_sample) -> dict:
    meta = getattr(data_sample, 'metainfo', None)
    return dict(meta) if meta is not None else {}


def label_to_feature_grid(label: np.ndarray, feature_size: Tuple[int, int], num_classes: int,
                          meta: Optional[dict] = None) -> Tensor:
    """Map an image-resolution label onto the feature grid (nearest neighbour).

    Follows the test pipeline's geometry when ``meta`` has it: resize to ``img_shape``, pad
    bottom/right to ``pad_shape`` (or ``batch_input_shape``) with 255, then resize to the
    feature map. Values outside 0..K-1 become 255.
    """
    from ssa_seg.classifier import resize_label
    lab = torch.from_numpy(np.array(label, dtype=np.int64, copy=True))
    lab = torch.where((lab < 0) | (lab >= num_classes), torch.full_like(lab, IGNORE_INDEX), lab)
    lab = lab[None]
    meta = meta or {}
    img_shape = meta.get('img_shape')
    if img_shape is not None:
        lab = resize_label(lab, tuple(img_shape[:2]))
        pad = meta.get('pad_shape') or meta.get('batch_input_shape')
        if pad is not None:
            ph, pw = int(pad[0]) - lab.shape[1], int(pad[1]) - lab.shape[2]
            if ph > 0 or pw > 0:
                lab = F.pad(lab, (0, max(pw, 0), 0, max(ph, 0)), value=IGNORE_INDEX)
    return resize_label(lab, tuple(feature_size))[0]


def _image_resolution_prediction(model, logits: Tensor, data_sample) -> Tensor:
    """Feature-resolution logits (1 x K x h x w) -> H x W prediction, the way mmseg does it:
    upsample to the network input, then the segmentor's own crop/resize to the original."""
    meta = _metainfo(data_sample)
    from ssa_seg.apis import final_head
    align = bool(getattr(final_head(model), 'align_corners', False))
    size = meta.get('img_shape') or meta.get('batch_input_shape')
    if size is not None:
        pad = meta.get('pad_shape') or meta.get('batch_input_shape') or size
        logits = F.interpolate(logits, size=tuple(pad[:2]), mode='bilinear', align_corners=align)
    if hasattr(model, 'postprocess_result') and meta:
        sample = data_sample.clone() if hasattr(data_sample, 'clone') else data_sample
        out = model.postprocess_result(logits, [sample])[0]
        return out.pred_sem_seg.data[0].cpu().long()
    return logits.argmax(1)[0].cpu().long()


def _class_names(model, k: int) -> List[str]:
    meta = getattr(model, 'dataset_meta', None) or {}
    names = meta.get('classes')
    if names is not None and len(names) == k:
        return [clean_class_name(n) for n in names]
    return [f'class_{i}' for i in range(k)]


def clean_class_name(name) -> str:
    """A class name as it should print: surrounding and repeated whitespace removed
    (mmseg's ADE20K list has ``'bed '``); commas and slashes stay, they are part of the name."""
    return ' '.join(str(name).split())


def _palette(model, k: int):
    meta = getattr(model, 'dataset_meta', None) or {}
    pal = meta.get('palette')
    if pal is not None and len(pal) >= k:
        return [tuple(int(v) for v in c) for c in list(pal)[:k]]
    return None


@torch.no_grad()
def extract(model, image: Union[ImageSource, LoadedImage], label: Optional[ImageSource] = None,
            *, reduce_zero_label: bool = False, model_name: str = '') -> Extraction:
    """Run ``model`` on ``image`` and keep features, prototypes and predictions.

    Args:
        model: an eval-mode mmseg segmentor from ``ssa_seg.apis.init_model`` (SSA-Seg or
            vanilla head). Nothing on it is changed, so other threads may use it meanwhile.
        image: anything :func:`analysis.io.load_image` reads (path, bytes, RGB array), or a
            :class:`~analysis.io.LoadedImage`; the model sees ``LoadedImage.work``.
        label: optional class map at the image's size (anything :func:`analysis.io.load_label`
            reads), 255 = ignore; mapped to the feature grid with nearest neighbour. Enables
            the teacher prototypes (SSA-Seg models) and makes the label define class membership.
        reduce_zero_label: for ADE20K-style annotations where 0 is "other" (label - 1).
    """
    from ssa_seg.apis import extract_head_features, final_head, ssa_classifier

    if model.training:
        raise ValueError('extract() needs a model in eval mode (model.eval()); ssa_seg.apis.'
                         'init_model returns one')
    loaded = image if isinstance(image, LoadedImage) else load_image(image)
    rgb = loaded.work
    image_name = loaded.name
    feat, data_sample = extract_head_features(model, rgb)
    clf = ssa_classifier(model)
    feat = feat.detach().float()
    out = teacher = None
    if clf is not None:
        out = clf.adapt(feat)
        logits = out.logits
        fixed = clf.fixed_prototypes
    else:
        head = final_head(model)
        logits = head.cls_seg(feat)
        fixed = head.conv_seg.weight[:, :, 0, 0]
    k = int(fixed.shape[0])
    pred_image = _image_resolution_prediction(model, logits, data_sample)

    meta = _metainfo(data_sample)
    label_feat = label_image = None
    if label is not None:
        lab = load_label(label, loaded.size, k, palette=_palette(model, k),
                         reduce_zero_label=reduce_zero_label)
        lab = upsample_nearest(lab, loaded.work_size)
        label_feat = label_to_feature_grid(lab, feat.shape[-2:], k, meta)
        label_image = torch.from_numpy(np.array(lab, dtype=np.int64, copy=True))
        label_image[(label_image < 0) | (label_image >= k)] = IGNORE_INDEX
        if clf is not None:
            teacher = clf.teacher(feat, out.pos_feat, label_feat[None])

    def cpu(t):
        return None if t is None else t.detach().cpu().float().contiguous()

    return Extraction(
        model_name=model_name, class_names=_class_names(model, k), palette=_palette(model, k),
        image=rgb, image_name=image_name,
        feat=cpu(feat[0]), fixed_protos=cpu(fixed), logits=cpu(logits[0]),
        pred=logits[0].argmax(0).cpu().long(), pred_image=pred_image,
        pos_feat=cpu(out.pos_feat[0]) if out else None,
        coarse=cpu(out.coarse[0]) if out else None,
        sem_protos=cpu(out.sem_protos[0]) if out else None,
        pos_protos=cpu(out.pos_protos[0]) if out else None,
        pos_basis=cpu(clf.position_basis) if clf is not None else None,
        centers=cpu(out.centers[0]) if out else None,
        label=label_feat, image_label=label_image,
        grid=FeatureGrid.from_meta(loaded.work_size, tuple(feat.shape[-2:]), meta),
        teacher_sem_protos=cpu(teacher.sem_protos) if teacher else None,
        teacher_pos_protos=cpu(teacher.pos_protos[0]) if teacher else None,
        temperature=float(clf.temperature) if clf is not None else DEFAULT_TEMPERATURE,
    )
