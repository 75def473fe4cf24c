"""Files the page hands out: PNG encoding, Gradio's temporary folder, safe file names, and
the page's JavaScript and CSS (``app/assets/``)."""
from __future__ import annotations

import ctypes
import io
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import List, Optional

from PIL import Image

ASSETS_DIR = Path(__file__).resolve().parent / 'assets'


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    """The text of ``app/assets/<name>`` (the page's scripts and styles)."""
    return (ASSETS_DIR / name).read_text(encoding='utf-8')


def scratch_dir() -> Path:
    """A fresh folder inside Gradio's temporary folder (what ``delete_cache`` cleans)."""
    import gradio as gr  # here: ``app.views`` reads assets without loading gradio

    folder = Path(gr.utils.get_upload_folder()) / 'ssa_seg_app' / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_files(*images) -> List[str]:
    """RGB arrays as PNG files in Gradio's temporary folder, for image outputs.

    Gradio would encode returned arrays itself at zlib level 6 (about 0.1 s for each 512 x 512
    picture here); level 1 is five times faster for 15% larger files, which on a local
    connection is the better trade. Lossless either way: the colours are exact."""
    folder = scratch_dir()
    paths = []
    for index, image in enumerate(images):
        path = folder / f'{index}.png'
        Image.fromarray(image).save(path, format='PNG', compress_level=1)
        paths.append(str(path))
    return paths


def png_bytes(image) -> bytes:
    """An RGB or grey array as PNG bytes (zlib level 1: fast, lossless)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='PNG', compress_level=1)
    return buffer.getvalue()


def trim_heap() -> None:
    """Hand freed heap pages back to the system (glibc only)."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):     # not glibc: nothing to do
        pass


def safe_stem(text: str, fallback: str = 'image') -> str:
    """A file-name part from a user's file name or a model name (letters, digits, ._-)."""
    stem = re.sub(r'[^A-Za-z0-9._-]+', '_', Path(str(text)).stem).strip('._')
    return stem[:80] or fallback


def path_of(value) -> Optional[str]:
    """The file path in a widget's value (a path, a file object, or a list of them)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return path_of(value[0]) if value else None
    return str(getattr(value, 'name', value))
