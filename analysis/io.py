"""The one reader of images and labels: every path into the models goes through here.

The app, ``python -m analysis``, the figure functions and :func:`analysis.extract.extract`
all call :func:`load_image` and :func:`load_label`, so the same file gives the same pixels
everywhere. Pixel values become 8-bit levels by one rule (:func:`to_uint8`):

=================  =========================================
input               8-bit level
=================  =========================================
uint8               unchanged
uint16 (16-bit)     ``round(v / 257)``: 65535 -> 255
float in [0, 1]     ``round(v * 255)``: 0.5 -> 128
anything else       refused, with a message saying what is accepted
=================  =========================================

Files are opened safely: a size limit is checked on the header before any pixel is decoded
(decompression bombs), only a fixed list of formats is tried (no EPS: it runs Ghostscript),
and every failure is an :class:`ImageLoadError` whose message is meant for the user.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ssa_seg.classifier import IGNORE_INDEX

MAX_PROCESSING_SIDE = 1024          # longest side the models see; larger images are resized
MAX_IMAGE_PIXELS = 40_000_000       # refused above this (decompression-bomb guard), ~ 7300 x 5500
MIN_IMAGE_SIDE = 8                  # smaller images cannot go through a stride-32 backbone usefully
IMAGE_FORMATS = ('PNG', 'JPEG', 'BMP', 'GIF', 'TIFF', 'WEBP', 'PPM')   # no EPS: runs Ghostscript
LABEL_FORMATS = ('PNG', 'BMP', 'GIF', 'TIFF', 'WEBP', 'PPM')   # lossless only
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff', '.webp', '.ppm')
LABEL_SUFFIXES = ('.png', '.bmp', '.gif', '.tif', '.tiff', '.webp', '.ppm')
ACCEPTED_PIXELS = 'uint8, uint16 (scaled by 1/257) or float in [0, 1] (scaled by 255)'

ImageSource = Union[str, os.PathLike, bytes, bytearray, io.IOBase, np.ndarray, Image.Image]


class ImageLoadError(ValueError):
    """An image (or label) cannot be used; the message says why, for the user to read."""

class ImageNotFoundError(ImageLoadError, FileNotFoundError):
    """The image (or label) file does not exist."""


class LabelError(ImageLoadError):
    """A ground-truth label does not fit the image or the model's classes."""


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
            raise ImageNotFoundError(f'{what} file not found: {path}')
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


def to_uint8(values: np.ndarray, what: str = 'image') -> np.ndarray:
    """Pixel values to 8-bit levels, by the one rule of this module (see the module doc).

    Raises :class:`ImageLoadError` for floats outside [0, 1] (or not finite) and for any
    dtype other than uint8, uint16 and float.
    """
    if values.dtype == np.uint8:
        return values
    if values.dtype == np.uint16:
        # (v + 128) // 257 == round(v / 257): no ties are possible; integers keep memory low
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if values.dtype.kind == 'f':
        if values.size and not (np.isfinite(values).all() and values.min() >= 0
                                and values.max() <= 1):
            raise ImageLoadError(
                f'{what} holds floating-point values outside [0, 1] (from '
                f'{np.nanmin(values):.4g} to {np.nanmax(values):.4g}); '
                f'accepted: {ACCEPTED_PIXELS}.')
        return np.rint(values.astype(np.float64) * 255.0).astype(np.uint8)
    raise ImageLoadError(f'{what} has pixel type {values.dtype}; accepted: {ACCEPTED_PIXELS}.')


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def _to_rgb(img: Image.Image, notes: List[str]) -> np.ndarray:
    """Any PIL mode to H x W x 3 uint8 RGB. Transparency is composited over white."""
    mode = img.mode
    if mode.startswith('I;16'):
        notes.append(f'{mode} image with 16-bit levels scaled to 8 bits')
        return _grey_to_rgb(to_uint8(np.asarray(img).astype(np.uint16, copy=False), 'image'))
    if mode == 'I':
        # 32-bit integer mode: what PIL makes of 16-bit greyscale files; other ranges refused
        grey = np.asarray(img)
        if grey.size and (grey.min() < 0 or grey.max() > 65535):
            raise ImageLoadError(f'32-bit integer image with values from {grey.min()} to '
                                 f'{grey.max()}; accepted: {ACCEPTED_PIXELS}.')
        notes.append('image with 16-bit levels scaled to 8 bits')
        return _grey_to_rgb(to_uint8(grey.astype(np.uint16), 'image'))
    if mode == 'F':
        return _grey_to_rgb(to_uint8(np.asarray(img), 'floating-point image'))
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
    """H x W, H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA) array -> H x W x 3 uint8."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageLoadError(f'expected an H x W, H x W x 3 or H x W x 4 array, got shape '
                             f'{array.shape}')
    if array.size == 0:
        raise ImageLoadError('the image array is empty')
    out = to_uint8(array, 'the image array')
    if out is not array:
        notes.append(f'{array.dtype} levels scaled to 8 bits')
    if out.ndim == 2:
        out = _grey_to_rgb(out)
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

def upsample_nearest(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an h x w map to ``size`` (H, W), pixel centres aligned."""
    height, width = size
    h, w = mask.shape[:2]
    if (h, w) == (height, width):
        return mask
    rows = np.minimum(((np.arange(height) + 0.5) * (h / height)).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * (w / width)).astype(np.int64), w - 1)
    return mask[rows[:, None], cols[None, :]]

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


def check_image(path: Union[str, os.PathLike], what: str = 'Image') -> None:
    """Refuse a file that :func:`load_image` would refuse on its header (missing, empty, not an
    image, too large), without decoding its pixels: for checking a batch before a long run."""
    img, _ = _open_pil(path, IMAGE_FORMATS if what == 'Image' else LABEL_FORMATS,
                       MAX_IMAGE_PIXELS, what)
    img.close()


def labelled_images(image_dir: Union[str, os.PathLike],
                    label_dir: Optional[Union[str, os.PathLike]] = None,
                    limit: Optional[int] = None) -> List[Tuple[Path, Optional[Path]]]:
    """(image, label or None) for the images of a folder (by suffix, sorted by name), the
    labels matched by file stem in ``label_dir``; the first ``limit`` images only."""
    images = sorted(p for p in Path(image_dir).iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    pairs = []
    for image in images[:limit]:
        candidates = [Path(label_dir) / f'{image.stem}{s}' for s in LABEL_SUFFIXES] \
            if label_dir is not None else []
        pairs.append((image, next((c for c in candidates if c.is_file()), None)))
    return pairs


def count_values(values: np.ndarray, length: int) -> np.ndarray:
    """``np.bincount`` of a flat non-negative integer array in bounded-memory chunks
    (``length`` bins; larger values are dropped)."""
    counts = np.zeros(length, dtype=np.int64)
    for start in range(0, values.size, CHUNK):
        part = np.bincount(values[start:start + CHUNK], minlength=length)
        counts += part[:length]
    return counts


CHUNK = 1 << 22       # pixels per step when counting: bounded temporaries on large images


def load_label(source: ImageSource, image_size: Tuple[int, int], num_classes: int, *,
               palette: Optional[Sequence[Sequence[int]]] = None,
               reduce_zero_label: bool = False, ignore_index: int = IGNORE_INDEX,
               max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read and validate a ground-truth label map for an image of ``image_size`` (H, W).

    Accepted: single-channel class indices (mode L / P / I;16 / I, as mmsegmentation writes
    them; for palette PNGs the indices are used, not the colours), a greyscale RGB image, or an
    RGB image in the model's ``palette`` colours. ``ignore_index`` (255) marks unlabelled
    pixels. ``reduce_zero_label`` (ADE20K's convention, 0 = "other"): 0 becomes ignore and
    every other value v becomes v - 1, before the values are checked. Returns H x W class
    indices (uint8, or uint16 beyond 255 classes). Raises
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
    if reduce_zero_label:
        wide = label.astype(np.int32)
        label = np.where((wide == 0) | (wide == ignore_index), ignore_index, wide - 1)
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
    top = max(num_classes - 1, ignore_index)
    return label.astype(np.uint8 if top <= 255 else np.uint16, copy=False)


def _distinct_values(array: np.ndarray) -> np.ndarray:
    """Sorted distinct values; counting instead of sorting for small non-negative ints."""
    flat = np.asarray(array).reshape(-1)
    if flat.size and flat.dtype.kind in 'ui' and int(flat.min()) >= 0 and int(flat.max()) < 1 << 16:
        return np.flatnonzero(count_values(flat, int(flat.max()) + 1))
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
