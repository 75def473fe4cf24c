"""Baseline vs SSA-Seg on one image: everything the app's Segment tab shows.

The app (``app/``) holds no model or image logic; every number and picture it shows comes
from a function here, and ``tests/test_compare.py`` calls each one directly.

Pipeline::

    image = load_image(path_or_bytes)                 # safe decoding, RGB, size limits
    label = load_label(label_path, image, classes)    # optional ground truth, validated
    pair = segment_pair(baseline_model, ssa_model, image)
    stats = comparison_statistics(image, pair, classes, label=label)
    overlay(image.work, pair.baseline.work_mask, palette, opacity=0.5)
    disagreement_image(image.work, pair.baseline.work_mask, pair.ssa.work_mask)

Sizes: images whose longest side exceeds ``MAX_PROCESSING_SIDE`` are segmented at that size;
masks are then returned at the image's own size (nearest upsampling), and every statistic
(pixel shares, IoU) is computed at the image's size. Overlays for display are drawn at the
processing size (``LoadedImage.work``), which is what a browser shows anyway.

Everything here is deterministic: same image and models, same masks and statistics (only the
measured inference times vary).
"""
from __future__ import annotations

import html
import io
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IGNORE_INDEX = 255
MAX_PROCESSING_SIDE = 1024          # longest side the models see; larger images are resized
MAX_IMAGE_PIXELS = 40_000_000       # refused above this (decompression-bomb guard), ~ 7300 x 5500
MIN_IMAGE_SIDE = 8                  # smaller images cannot go through a stride-32 backbone usefully
IMAGE_FORMATS = ('PNG', 'JPEG', 'BMP', 'GIF', 'TIFF', 'WEBP', 'PPM')   # no EPS: runs Ghostscript
LABEL_FORMATS = ('PNG', 'BMP', 'GIF', 'TIFF', 'WEBP', 'PPM')   # lossless only
DISAGREEMENT_COLOR = (255, 0, 255)

ImageSource = Union[str, os.PathLike, bytes, bytearray, io.IOBase, np.ndarray, Image.Image]


class ImageLoadError(ValueError):
    """An image (or label) cannot be used; the message says why, for the user to read."""


class LabelError(ImageLoadError):
    """A ground-truth label does not fit the image or the model's classes."""


# --------------------------------------------------------------------------------------
# Image loading
# --------------------------------------------------------------------------------------

@dataclass
class LoadedImage:
    """A decoded image, ready for the models.

    rgb: H x W x 3 uint8 at the image's own size (EXIF orientation applied).
    work: h x w x 3 uint8, what the models see: ``rgb`` itself unless the longest side
        exceeds ``max_side``, else a bilinear downscale to it.
    source_mode: the PIL mode of the file ('RGBA', 'I;16', 'P', ...), or 'array'.
    notes: human-readable remarks on conversions made (alpha composited, resized, ...).
    """
    rgb: np.ndarray
    work: np.ndarray
    source_mode: str
    notes: List[str] = field(default_factory=list)
    name: str = ''

    @property
    def size(self) -> Tuple[int, int]:
        """(height, width) of the image."""
        return self.rgb.shape[0], self.rgb.shape[1]

    @property
    def work_size(self) -> Tuple[int, int]:
        return self.work.shape[0], self.work.shape[1]

    @property
    def resized(self) -> bool:
        return self.work_size != self.size


def _describe(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return 'the upload'


def _registered(formats: Sequence[str]) -> List[str]:
    """The formats PIL can open here (some plugins register only after ``init``)."""
    Image.init()
    return [f for f in formats if f in Image.OPEN]


def _open_pil(source: ImageSource, formats: Sequence[str], max_pixels: int, what: str
              ) -> Tuple[Image.Image, str]:
    """Open (without decoding pixels) and check size, format and bomb limits."""
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageLoadError(f'{what} file not found: {name}')
        if path.stat().st_size == 0:
            raise ImageLoadError(f'{what} file {name} is empty (0 bytes).')
        fp = path
    elif isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise ImageLoadError(f'{what} is empty (0 bytes).')
        fp = io.BytesIO(bytes(source))
    else:
        fp = source
    try:
        with warnings.catch_warnings():
            # above Image.MAX_IMAGE_PIXELS PIL warns; we refuse on our own, stricter limit
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(fp, formats=_registered(formats))
    except Image.DecompressionBombError:
        raise ImageLoadError(
            f'{what} {name} refused: its header declares an enormous size (a possible '
            f'decompression bomb); the limit is {max_pixels / 1e6:.0f} megapixels.') from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            f'{name} is not a readable {what.lower()} file (accepted formats: '
            f'{", ".join(formats)}).') from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageLoadError(f'{what} {name} cannot be read: {err}') from None
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise ImageLoadError(
            f'{what} {name} refused: {width} x {height} = {width * height / 1e6:.1f} megapixels '
            f'exceeds the limit of {max_pixels / 1e6:.0f} megapixels (decompression-bomb guard).')
    if min(width, height) < 1:
        img.close()
        raise ImageLoadError(f'{what} {name} has no pixels ({width} x {height}).')
    return img, name


def _decode(img: Image.Image, name: str, what: str) -> Image.Image:
    """Decode the pixels of the first frame, with EXIF orientation applied."""
    try:
        if getattr(img, 'n_frames', 1) > 1:
            img.seek(0)
        img.load()
        # exif_transpose copies the image even when there is nothing to do: only when needed
        orientation = _exif_orientation(img)
        transposed = ImageOps.exif_transpose(img) if orientation not in (None, 1) else img
    except Image.DecompressionBombError:
        raise ImageLoadError(f'{what} {name} refused: possible decompression bomb.') from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        text = str(err)
        if 'truncated' in text or 'broken data stream' in text or isinstance(err, EOFError):
            raise ImageLoadError(f'{what} {name} is truncated or corrupt ({text}).') from None
        raise ImageLoadError(f'{what} {name} cannot be decoded: {text}') from None
    return transposed if transposed is not None else img


def _high_bit_to_uint8(array: np.ndarray) -> np.ndarray:
    """Integer levels to 8 bits: uint16 (and values up to 65535) by /257, so 65535 -> 255;
    other integers already in 0..255 unchanged; anything wider rescaled min..max."""
    values = array.astype(np.float64)
    lo, hi = float(values.min(initial=0)), float(values.max(initial=0))
    if array.dtype != np.uint16 and lo >= 0 and hi <= 255:
        return values.astype(np.uint8)
    if lo >= 0 and hi <= 65535:
        return np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip(np.rint((values - lo) * scale), 0, 255).astype(np.uint8)


def _to_rgb(img: Image.Image, notes: List[str]) -> np.ndarray:
    """Any PIL mode to H x W x 3 uint8 RGB. Transparency is composited over white."""
    mode = img.mode
    if mode.startswith('I;16') or mode == 'I':
        grey = np.asarray(img)
        if mode == 'I' and grey.max(initial=0) <= 255 and grey.min(initial=0) >= 0:
            grey8 = grey.astype(np.uint8)
        else:
            # (v + 128) // 257 == rint(v / 257): no ties are possible; integers keep memory low
            grey8 = ((np.clip(grey, 0, 65535).astype(np.uint32) + 128) // 257).astype(np.uint8)
            notes.append(f'{mode} image with 16-bit levels scaled to 8 bits')
        return np.repeat(grey8[..., None], 3, axis=2)
    if mode == 'F':
        grey = np.nan_to_num(np.asarray(img, dtype=np.float64))
        lo, hi = float(grey.min(initial=0)), float(grey.max(initial=0))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        notes.append('floating-point image rescaled to 0..255')
        grey8 = np.clip(np.rint((grey - lo) * scale), 0, 255).astype(np.uint8)
        return np.repeat(grey8[..., None], 3, axis=2)
    if mode in ('RGBA', 'LA', 'PA', 'La', 'RGBa') or (mode == 'P' and 'transparency' in img.info) \
            or (mode in ('L', 'RGB') and 'transparency' in img.info):
        rgba = img if mode == 'RGBA' else img.convert('RGBA')
        pixels = np.asarray(rgba)
        if rgba is not img:
            rgba.close()
        if pixels[..., 3].min(initial=255) < 255:
            notes.append('transparent pixels composited over white')
        return _over_white(pixels)
    if mode != 'RGB':
        if mode not in ('L', '1'):
            notes.append(f'{mode} image converted to RGB')
        converted = img.convert('RGB')
        rgb = np.asarray(converted)
        converted.close()
        return rgb
    return np.asarray(img)


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """H x W x 4 uint8 composited over white, in integer row blocks (bounded memory):
    ``(c * a + 255 * (255 - a) + 127) // 255`` equals ``rint`` of the exact blend."""
    height, width = rgba.shape[:2]
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, (1 << 20) // max(width, 1))
    for top in range(0, height, rows):
        block = rgba[top:top + rows].astype(np.uint16)
        alpha = block[..., 3:4]
        out[top:top + rows] = (block[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    return out


def _array_to_rgb(array: np.ndarray, notes: List[str]) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageLoadError(f'expected an H x W, H x W x 3 or H x W x 4 array, got shape '
                             f'{array.shape}')
    if array.size == 0:
        raise ImageLoadError('the image array is empty')
    if array.dtype == np.uint8:
        out = array
    elif array.dtype.kind in 'ui':
        out = _high_bit_to_uint8(array)
        notes.append(f'{array.dtype} levels scaled to 8 bits')
    elif array.dtype.kind == 'f':
        out = np.clip(np.rint(np.nan_to_num(array) * (255.0 if array.max() <= 1.0 else 1.0)),
                      0, 255).astype(np.uint8)
    elif array.dtype == bool:
        out = array.astype(np.uint8) * 255
    else:
        raise ImageLoadError(f'unsupported array dtype {array.dtype}')
    if out.ndim == 2:
        out = np.repeat(out[..., None], 3, axis=2)
    elif out.shape[2] == 4:
        if out[..., 3].min(initial=255) < 255:
            notes.append('transparent pixels composited over white')
        out = _over_white(out)
    return np.ascontiguousarray(out)


def fit_longest_side(size: Tuple[int, int], max_side: int) -> Tuple[int, int]:
    """(height, width) scaled down so that the longest side is at most ``max_side``."""
    height, width = size
    longest = max(height, width)
    if longest <= max_side:
        return height, width
    scale = max_side / longest
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def resize_rgb(rgb: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased) resize of an RGB image to (height, width)."""
    if rgb.shape[:2] == tuple(size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), Image.BILINEAR))


def load_image(source: ImageSource, *, max_side: int = MAX_PROCESSING_SIDE,
               max_pixels: int = MAX_IMAGE_PIXELS, min_side: int = MIN_IMAGE_SIDE
               ) -> LoadedImage:
    """Decode an image safely into RGB.

    ``source``: a path, the file's bytes, a binary file object, a PIL image or a numpy array
    (H x W, H x W x 3 or H x W x 4; uint8, uint16 or float in 0..1). Handles RGB, RGBA (over
    white), greyscale, palette, 16-bit PNG (scaled to 8 bits), CMYK, and JPEG EXIF
    orientation. Raises :class:`ImageLoadError` with a readable message for a missing, empty,
    non-image, truncated or oversized (decompression bomb) file.
    """
    notes: List[str] = []
    name = ''
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source, notes)
        mode = 'array'
        if rgb.shape[0] * rgb.shape[1] > max_pixels:
            raise ImageLoadError(f'image of {rgb.shape[1]} x {rgb.shape[0]} exceeds the limit of '
                                 f'{max_pixels / 1e6:.0f} megapixels')
    else:
        if isinstance(source, Image.Image):
            img, name = source, getattr(source, 'filename', '') or ''
            if img.size[0] * img.size[1] > max_pixels:
                raise ImageLoadError(f'image of {img.size[0]} x {img.size[1]} exceeds the limit '
                                     f'of {max_pixels / 1e6:.0f} megapixels')
        else:
            img, name = _open_pil(source, IMAGE_FORMATS, max_pixels, 'Image')
        try:
            mode = img.mode
            decoded = _decode(img, name, 'Image')
            if decoded is not img and decoded.size != img.size:
                notes.append('rotated according to its EXIF orientation')
            elif decoded is not img and _exif_orientation(img) not in (None, 1):
                notes.append('flipped according to its EXIF orientation')
            rgb = _to_rgb(decoded, notes)
            if decoded is not img:
                decoded.close()
        finally:
            if not isinstance(source, Image.Image):
                img.close()
    height, width = rgb.shape[:2]
    if min(height, width) < min_side:
        raise ImageLoadError(f'Image {name or "upload"} is too small ({width} x {height}); the '
                             f'minimum side is {min_side} pixels.')
    work_size = fit_longest_side((height, width), max_side)
    work = resize_rgb(rgb, work_size)
    if work_size != (height, width):
        notes.append(f'segmented at {work_size[1]} x {work_size[0]} (longest side {max_side}); '
                     f'masks upsampled to {width} x {height}')
    return LoadedImage(rgb=np.ascontiguousarray(rgb), work=np.ascontiguousarray(work),
                       source_mode=mode, notes=notes, name=name)


def _exif_orientation(img: Image.Image) -> Optional[int]:
    try:
        return img.getexif().get(0x0112)
    except Exception:   # malformed EXIF is not worth failing for
        return None


# --------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------

def load_label(source: ImageSource, image_size: Tuple[int, int], num_classes: int, *,
               palette: Optional[Sequence[Sequence[int]]] = None,
               ignore_index: int = IGNORE_INDEX, max_pixels: int = MAX_IMAGE_PIXELS
               ) -> np.ndarray:
    """Read and validate a ground-truth label map for an image of ``image_size`` (H, W).

    Accepted: single-channel class indices (mode L / P / I;16 / I, as mmsegmentation writes
    them; for palette PNGs the indices are used, not the colours), a greyscale RGB image, or an
    RGB image in the model's ``palette`` colours. ``ignore_index`` (255) marks unlabelled
    pixels. Returns H x W class indices (uint8, or uint16 beyond 255 classes). Raises
    :class:`LabelError` on a wrong size, unknown class values or unknown colours.
    """
    if isinstance(source, np.ndarray):
        label = np.asarray(source)
        if label.ndim != 2 or label.dtype.kind not in 'ui':
            raise LabelError(f'a label array must be H x W integers, got {label.dtype} '
                             f'{label.shape}')
        name = 'label'
    else:
        if isinstance(source, Image.Image):
            img, name = source, 'label'
        else:
            try:
                img, name = _open_pil(source, LABEL_FORMATS, max_pixels, 'Label')
            except ImageLoadError as err:
                raise LabelError(str(err).replace('file (accepted', 'label (accepted')) from None
        try:
            decoded = _decode(img, name, 'Label')
        except ImageLoadError as err:
            raise LabelError(str(err)) from None
        label = _label_indices(decoded, name, palette)
    height, width = image_size
    if label.shape != (height, width):
        raise LabelError(f'label {name} is {label.shape[1]} x {label.shape[0]} but the image is '
                         f'{width} x {height}; a label must have the image\'s size.')
    values = _distinct_values(label)
    unknown = [int(v) for v in values if not (0 <= v < num_classes or v == ignore_index)]
    if unknown:
        shown = ', '.join(str(v) for v in unknown[:10]) + (' ...' if len(unknown) > 10 else '')
        raise LabelError(f'label {name} holds values {shown} that are not classes of this model '
                         f'(0..{num_classes - 1}, or {ignore_index} for "ignore").')
    return compact_mask(label)


def _distinct_values(array: np.ndarray) -> np.ndarray:
    """Sorted distinct values; counting instead of sorting for small non-negative ints."""
    flat = np.asarray(array).reshape(-1)
    if flat.size and flat.dtype.kind in 'ui' and int(flat.min()) >= 0 and int(flat.max()) < 1 << 16:
        return np.flatnonzero(_class_counts(flat, int(flat.max()) + 1))
    return np.unique(flat)


def _label_indices(img: Image.Image, name: str, palette) -> np.ndarray:
    mode = img.mode
    if mode in ('L', 'P', '1') or mode.startswith('I;16') or mode == 'I':
        return np.asarray(img)
    if mode in ('LA', 'PA'):
        return np.asarray(img)[..., 0]
    if mode in ('RGB', 'RGBA'):
        rgb = np.asarray(img.convert('RGB'))
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            return rgb[..., 0]
        if palette is None:
            raise LabelError(f'label {name} is a colour image; give class indices (a '
                             f'single-channel PNG) or colours from the model\'s palette.')
        return colours_to_indices(rgb, palette, name)
    raise LabelError(f'label {name} has image mode {mode}; expected a single-channel PNG of '
                     f'class indices.')


def colours_to_indices(rgb: np.ndarray, palette: Sequence[Sequence[int]], name: str = 'label'
                       ) -> np.ndarray:
    """Map an H x W x 3 colour label to class indices via the palette (first match wins)."""
    rgb = rgb.astype(np.uint32)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    lookup: Dict[int, int] = {}
    for index, colour in enumerate(palette):
        code = (int(colour[0]) << 16) | (int(colour[1]) << 8) | int(colour[2])
        lookup.setdefault(code, index)
    unique, inverse = np.unique(codes, return_inverse=True)
    missing = [u for u in unique.tolist() if u not in lookup]
    if missing:
        shown = ', '.join(f'#{u:06x}' for u in missing[:5]) + (' ...' if len(missing) > 5 else '')
        raise LabelError(f'label {name} uses colours {shown} that are not in the model\'s palette.')
    mapped = np.array([lookup[u] for u in unique.tolist()], dtype=np.int32)
    return mapped[inverse].reshape(codes.shape)


# --------------------------------------------------------------------------------------
# Segmentation
# --------------------------------------------------------------------------------------

@dataclass
class Segmentation:
    """One model's answer on one image.

    mask: H x W class indices at the image's size.   work_mask: the same at processing size.
    seconds: wall-clock time of the model call (test pipeline + forward + resize to input).
    """
    mask: np.ndarray
    work_mask: np.ndarray
    seconds: float


@dataclass
class PairSegmentation:
    baseline: Segmentation
    ssa: Segmentation

    def __iter__(self):
        yield 'baseline', self.baseline
        yield 'ssa', self.ssa


def compact_mask(mask: np.ndarray, num_classes: Optional[int] = None) -> np.ndarray:
    """Class indices in the smallest unsigned dtype that holds them (uint8 up to 255)."""
    mask = np.asarray(mask)
    top = int(mask.max(initial=0)) if num_classes is None else max(num_classes - 1, IGNORE_INDEX)
    return mask.astype(np.uint8 if top <= 255 else np.uint16, copy=False)


def upsample_nearest(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an h x w map to ``size`` (H, W), pixel centres aligned."""
    height, width = size
    h, w = mask.shape[:2]
    if (h, w) == (height, width):
        return mask
    rows = np.minimum(((np.arange(height) + 0.5) * (h / height)).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * (w / width)).astype(np.int64), w - 1)
    return mask[rows[:, None], cols[None, :]]


def segment(model, image: LoadedImage) -> Segmentation:
    """Segment ``image.work`` with an mmseg model; the mask is upsampled to the image's size."""
    from ssa_seg.apis import inference_model

    start = time.perf_counter()
    result = inference_model(model, image.work)
    seconds = time.perf_counter() - start
    work_mask = result.pred_sem_seg.data[0].cpu().numpy()
    num_classes = getattr(getattr(model, 'decode_head', None), 'num_classes', None)
    work_mask = compact_mask(work_mask, num_classes if isinstance(num_classes, int) else None)
    if work_mask.shape != image.work_size:
        raise RuntimeError(f'model returned a {work_mask.shape} mask for a {image.work_size} image')
    return Segmentation(mask=upsample_nearest(work_mask, image.size), work_mask=work_mask,
                        seconds=seconds)


def segment_pair(baseline_model, ssa_model, image: LoadedImage) -> PairSegmentation:
    """Both models on the same image, one after the other, each timed on its own."""
    return PairSegmentation(baseline=segment(baseline_model, image), ssa=segment(ssa_model, image))


def check_pair_classes(baseline_meta: Mapping, ssa_meta: Mapping) -> None:
    """A pair is only comparable if both models predict the same classes in the same order."""
    a, b = list(baseline_meta.get('classes', ())), list(ssa_meta.get('classes', ()))
    if a != b:
        raise ValueError(f'the two models of a pair must share their classes; baseline has '
                         f'{len(a)} ({a[:3]}...), SSA-Seg has {len(b)} ({b[:3]}...)')


# --------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------

def default_palette(num_classes: int) -> List[Tuple[int, int, int]]:
    """A deterministic, well-spread palette for models that ship none (golden-angle hues)."""
    import colorsys
    colours = []
    for k in range(num_classes):
        hue = (k * 0.618033988749895) % 1.0
        value = 0.95 if k % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
        colours.append((int(round(r * 255)), int(round(g * 255)), int(round(b * 255))))
    return colours


def palette_array(palette: Optional[Sequence[Sequence[int]]], num_classes: int) -> np.ndarray:
    """(max(K, 256)) x 3 uint8 lookup table; the ignore index and unknown classes are black."""
    table = np.zeros((max(num_classes, IGNORE_INDEX + 1), 3), dtype=np.uint8)
    colours = list(palette or [])
    if len(colours) < num_classes:
        colours = colours + default_palette(num_classes)[len(colours):]
    table[:num_classes] = np.asarray(colours[:num_classes], dtype=np.uint8).reshape(-1, 3)
    return table


def colorize(mask: np.ndarray, palette, num_classes: int) -> np.ndarray:
    """H x W class map -> H x W x 3 uint8 colours."""
    return palette_array(palette, num_classes)[mask]


def overlay(image: np.ndarray, mask: np.ndarray, palette, opacity: float = 0.5,
            num_classes: Optional[int] = None, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Class colours blended over the image: ``(1 - opacity) * image + opacity * colour``.

    ``image`` H x W x 3 uint8 and ``mask`` H x W must have the same size; ignored pixels
    (``ignore_index``) show the plain image. ``opacity`` is clipped to [0, 1].
    """
    if image.shape[:2] != mask.shape:
        raise ValueError(f'image {image.shape[:2]} and mask {mask.shape} differ in size')
    opacity = float(np.clip(opacity, 0.0, 1.0))
    num_classes = num_classes if num_classes is not None else len(palette or [])
    colours = colorize(mask, palette, max(num_classes, 1)).astype(np.float32)
    blended = (1.0 - opacity) * image.astype(np.float32) + opacity * colours
    out = np.rint(blended).astype(np.uint8)
    ignored = mask == ignore_index
    if ignored.any():
        out[ignored] = image[ignored]
    return out


def disagreement_mask(mask_a: np.ndarray, mask_b: np.ndarray) -> np.ndarray:
    """True where the two models predict different classes."""
    if mask_a.shape != mask_b.shape:
        raise ValueError(f'masks differ in size: {mask_a.shape} vs {mask_b.shape}')
    return np.asarray(mask_a) != np.asarray(mask_b)


def disagreement_image(image: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray,
                       color: Tuple[int, int, int] = DISAGREEMENT_COLOR) -> np.ndarray:
    """Where the models disagree: the image dimmed to grey, disagreeing pixels in ``color``."""
    differ = disagreement_mask(mask_a, mask_b)
    if image.shape[:2] != differ.shape:
        raise ValueError(f'image {image.shape[:2]} and masks {differ.shape} differ in size')
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dim = np.rint(40.0 + 0.45 * grey).astype(np.uint8)
    out = np.repeat(dim[..., None], 3, axis=2)
    out[differ] = np.asarray(color, dtype=np.uint8)
    return out


def mask_to_png_bytes(mask: np.ndarray, palette, num_classes: int) -> bytes:
    """An indexed PNG of class indices (mmsegmentation's label format) with the palette."""
    if int(mask.max(initial=0)) > 255:
        img = Image.fromarray(mask.astype(np.uint16))
    else:
        img = Image.fromarray(mask.astype(np.uint8), mode='P')
        img.putpalette(palette_array(palette, num_classes)[:256].reshape(-1).tolist())
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# Legend and statistics
# --------------------------------------------------------------------------------------

def hex_colour(colour: Sequence[int]) -> str:
    return '#{:02x}{:02x}{:02x}'.format(*(int(c) for c in colour[:3]))


def legend_entries(classes: Sequence[str], palette, present: Optional[Sequence[int]] = None
                   ) -> List[dict]:
    """[{index, name, color ('#rrggbb')}] for the classes in ``present`` (all if None)."""
    table = palette_array(palette, len(classes))
    indices = range(len(classes)) if present is None else sorted({int(i) for i in present
                                                                  if 0 <= int(i) < len(classes)})
    return [dict(index=i, name=str(classes[i]), color=hex_colour(table[i])) for i in indices]


def legend_html(entries: Sequence[Mapping]) -> str:
    """The legend as a small HTML block of colour swatches (names are escaped)."""
    if not entries:
        return '<div class="ssa-legend"><em>no classes</em></div>'
    items = ''.join(
        '<span class="ssa-legend-item" style="display:inline-flex;align-items:center;'
        'margin:2px 10px 2px 0;">'
        f'<span style="display:inline-block;width:14px;height:14px;border:1px solid #555;'
        f'margin-right:5px;background:{html.escape(e["color"])};"></span>'
        f'{html.escape(str(e["name"]))}</span>' for e in entries)
    return f'<div class="ssa-legend">{items}</div>'


def classes_present(*masks: np.ndarray, ignore_index: int = IGNORE_INDEX) -> List[int]:
    """Sorted class indices that occur in any of the masks (the ignore index excluded)."""
    found = set()
    for mask in masks:
        found.update(int(v) for v in np.unique(mask))
    found.discard(ignore_index)
    return sorted(found)


_CHUNK = 1 << 22       # pixels per step when counting: bounded temporaries on large images


def _class_counts(values: np.ndarray, length: int) -> np.ndarray:
    """``np.bincount`` over a flat non-negative integer array, in bounded-memory chunks."""
    counts = np.zeros(length, dtype=np.int64)
    for start in range(0, values.size, _CHUNK):
        part = np.bincount(values[start:start + _CHUNK], minlength=length)
        counts += part[:length]
    return counts


def pixel_share(mask: np.ndarray, num_classes: int, ignore_index: int = IGNORE_INDEX
                ) -> np.ndarray:
    """Fraction of the (non-ignored) pixels predicted as each class; K floats summing to 1."""
    flat = np.asarray(mask).reshape(-1)
    # only classes 0..K-1 are counted, so the ignore index (255 >= K) drops out
    counts = _class_counts(flat, max(num_classes, int(flat.max(initial=0)) + 1))[:num_classes]
    if 0 <= ignore_index < num_classes:
        counts[ignore_index] = 0
    total = counts.sum()
    if total == 0:
        return np.zeros(num_classes, dtype=np.float64)
    return counts.astype(np.float64) / total


def confusion(pred: np.ndarray, label: np.ndarray, num_classes: int,
              ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """K x K pixel counts, rows = ground truth, columns = prediction; ignored pixels dropped."""
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} differ in size')
    flat_pred, flat_label = np.asarray(pred).reshape(-1), np.asarray(label).reshape(-1)
    matrix = np.zeros(num_classes * num_classes, dtype=np.int64)
    for start in range(0, flat_label.size, _CHUNK):
        gt = flat_label[start:start + _CHUNK].astype(np.int64)
        pr = flat_pred[start:start + _CHUNK].astype(np.int64)
        keep = (gt != ignore_index) & (gt >= 0) & (gt < num_classes) & (pr >= 0) & \
            (pr < num_classes)
        matrix += np.bincount(gt[keep] * num_classes + pr[keep],
                              minlength=num_classes * num_classes)
    return matrix.reshape(num_classes, num_classes)


def per_class_iou(pred: np.ndarray, label: np.ndarray, num_classes: int,
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """IoU of each class on one image; NaN for classes absent from both label and prediction
    (on the non-ignored pixels), which mIoU then leaves out."""
    matrix = confusion(pred, label, num_classes, ignore_index)
    intersection = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - np.diag(matrix)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, intersection / np.maximum(union, 1), np.nan)
    return iou


def mean_iou(iou: np.ndarray) -> Optional[float]:
    """Mean over the classes that count (non-NaN); None when none does."""
    valid = iou[~np.isnan(iou)]
    return float(valid.mean()) if valid.size else None


def _rounded(value: Optional[float], digits: int = 6) -> Optional[float]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def comparison_statistics(image: LoadedImage, pair: PairSegmentation, classes: Sequence[str],
                          label: Optional[np.ndarray] = None, *, pair_name: str = '',
                          model_names: Optional[Mapping[str, str]] = None,
                          ignore_index: int = IGNORE_INDEX) -> dict:
    """Everything the app reports about one comparison, as JSON-ready data.

    ``pixel_share`` lists every class (fractions of the image, computed at the image's size);
    ``evaluation`` is None without a label, else per-class IoU (null for classes absent
    from both label and prediction) and mIoU (0..1) of each model, plus the classes counted.
    """
    num_classes = len(classes)
    height, width = image.size
    names = dict(model_names or {})
    stats: dict = dict(
        pair=pair_name,
        classes=list(map(str, classes)),
        image=dict(width=width, height=height, processed_width=image.work_size[1],
                   processed_height=image.work_size[0], resized_for_processing=image.resized,
                   source_mode=image.source_mode, notes=list(image.notes)),
        models={},
        disagreement_fraction=_rounded(float(disagreement_mask(pair.baseline.mask,
                                                               pair.ssa.mask).mean())),
        evaluation=None,
    )
    for role, seg in pair:
        share = pixel_share(seg.mask, num_classes, ignore_index)
        stats['models'][role] = dict(
            name=names.get(role, role),
            inference_seconds=round(seg.seconds, 4),
            pixel_share={str(classes[k]): _rounded(share[k]) for k in range(num_classes)},
            classes_found=[str(classes[k]) for k in np.flatnonzero(share > 0)],
        )
    if label is not None:
        evaluation: dict = {}
        counted = set()
        for role, seg in pair:
            iou = per_class_iou(seg.mask, label, num_classes, ignore_index)
            counted.update(int(k) for k in np.flatnonzero(~np.isnan(iou)))
            evaluation[role] = dict(
                per_class_iou={str(classes[k]): _rounded(iou[k]) for k in range(num_classes)},
                mIoU=_rounded(mean_iou(iou)))
        evaluation['classes_in_label'] = [str(classes[k]) for k in classes_present(label)
                                          if k < num_classes]
        evaluation['ignored_pixels'] = int((label == ignore_index).sum())
        stats['evaluation'] = evaluation
    return stats


def share_rows(stats: Mapping, min_share: float = 0.0) -> List[List]:
    """Table rows [class, baseline %, SSA-Seg %] for classes either model predicts."""
    base = stats['models']['baseline']['pixel_share']
    ssa = stats['models']['ssa']['pixel_share']
    rows = []
    for name in stats['classes']:
        a, b = base.get(name) or 0.0, ssa.get(name) or 0.0
        if max(a, b) > min_share:
            rows.append([name, round(100 * a, 2), round(100 * b, 2)])
    return rows


def iou_rows(stats: Mapping) -> List[List]:
    """Table rows [class, baseline IoU %, SSA-Seg IoU %] (None = class not counted), then mIoU."""
    evaluation = stats.get('evaluation')
    if not evaluation:
        return []
    base, ssa = evaluation['baseline']['per_class_iou'], evaluation['ssa']['per_class_iou']

    def pct(v):
        return None if v is None else round(100 * v, 2)

    rows = [[name, pct(base.get(name)), pct(ssa.get(name))] for name in stats['classes']
            if base.get(name) is not None or ssa.get(name) is not None]
    rows.append(['mIoU', pct(evaluation['baseline']['mIoU']), pct(evaluation['ssa']['mIoU'])])
    return rows


def timing_text(stats: Mapping) -> str:
    """One line: each model's inference time."""
    models = stats['models']
    return ' | '.join(f'{models[r]["name"]}: {1000 * models[r]["inference_seconds"]:.0f} ms'
                      for r in ('baseline', 'ssa'))


def pixel_share_figure(stats: Mapping, palette, min_share: float = 0.0):
    """Grouped horizontal bars: per-class pixel share (%) of baseline and SSA-Seg (plotly)."""
    import plotly.graph_objects as go

    rows = share_rows(stats, min_share)
    names = [r[0] for r in rows]
    table = palette_array(palette, len(stats['classes']))
    colours = {n: hex_colour(table[i]) for i, n in enumerate(stats['classes'])}
    models = stats['models']
    fig = go.Figure()
    for column, role, pattern in ((1, 'baseline', ''), (2, 'ssa', '/')):
        fig.add_trace(go.Bar(
            y=names, x=[r[column] for r in rows], orientation='h', name=models[role]['name'],
            marker=dict(color=[colours[n] for n in names], pattern_shape=pattern,
                        line=dict(color='#333333', width=1)),
            hovertemplate='%{y}: %{x:.2f}%<extra>' + html.escape(models[role]['name'])
                          + '</extra>'))
    fig.update_layout(barmode='group', template='plotly_white',
                      height=max(220, 60 + 34 * len(names)),
                      xaxis_title='share of the image (%)', yaxis=dict(autorange='reversed'),
                      legend=dict(orientation='h', yanchor='bottom', y=1.02, x=0),
                      margin=dict(l=10, r=10, t=50, b=40))
    return fig
