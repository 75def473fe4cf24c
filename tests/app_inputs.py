"""Shared helpers for the compare/app tests (no tests in here).

* ``write_inputs(folder)``: one file per kind of awkward input (RGBA, grey, palette, 16-bit,
  EXIF JPEG, large, decompression bombs, not-an-image, truncated, empty) and bad labels.
* ``tiny_pair(folder)``: a random-weight baseline/SSA-Seg pair with the demo configs, saved as
  checkpoints, so the app can be started without the shipped demo pair.
* ``AppServer``: ``python -m app`` in a subprocess on a free loopback port.
"""
from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
# gradio_client sends telemetry from every Client unless this is 'False' (nothing is fetched
# or sent during the tests)
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'
os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'
BASELINE_CONFIG = REPO / 'ssa_seg' / 'configs' / 'demo' / 'baseline_synthscenes.py'
SSA_CONFIG = REPO / 'ssa_seg' / 'configs' / 'demo' / 'ssa_synthscenes.py'
NUM_CLASSES = 10


# --------------------------------------------------------------------------- inputs

def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit PNG of ``width`` x ``height`` zero pixels: kilobytes on disk,
    ``width * height`` pixels once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))

    compressor = zlib.compressobj(9)
    row = b'\0' * (1 + (width + 7) // 8)
    parts = [compressor.compress(row) for _ in range(height)] + [compressor.flush()]
    header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
                     + chunk(b'IDAT', b''.join(parts)) + chunk(b'IEND', b''))
    return path


def scene(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth, deterministic RGB test picture (compresses well, unlike noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.zeros((height, width, 3), np.float32)
    for c in range(3):
        fx, fy, phase = rng.uniform(0.01, 0.08, 2).tolist() + [rng.uniform(0, 6)]
        out[..., c] = 127 + 100 * np.sin(fx * xx + fy * yy + phase)
    out[height // 3: 2 * height // 3, width // 4: width // 2] = (220, 40, 40)
    return np.clip(out, 0, 255).astype(np.uint8)


def write_inputs(folder: Path) -> Dict[str, Path]:
    """Every awkward input the app must handle, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = scene(64, 96)
    files: Dict[str, Path] = {}

    def save(name, img, **kwargs):
        files[name.split('.')[0]] = folder / name
        img.save(folder / name, **kwargs)

    save('rgb.png', Image.fromarray(rgb))
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :48] = 0
    save('rgba.png', Image.fromarray(np.dstack([rgb, alpha]), 'RGBA'))
    save('gray.png', Image.fromarray(rgb[..., 0]))
    save('palette.png', Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=16))
    gray16 = (np.arange(64 * 96, dtype=np.uint32).reshape(64, 96) * 10).astype(np.uint16)
    save('gray16.png', Image.fromarray(gray16))
    exif = Image.Exif()
    exif[0x0112] = 6                      # "rotate 90 degrees clockwise to display"
    save('exif.jpg', Image.fromarray(rgb), exif=exif, quality=95)
    save('large.png', Image.fromarray(scene(1500, 2400, seed=1)))
    files['bomb'] = png_bomb(folder / 'bomb.png', 20000, 20000)      # PIL's own guard
    files['bomb_limit'] = png_bomb(folder / 'bomb_limit.png', 8000, 8000)   # our 40 MP limit
    files['not_image'] = folder / 'not_image.png'
    files['not_image'].write_text('this is not an image\n')
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, 'PNG')
    files['truncated'] = folder / 'truncated.png'
    files['truncated'].write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    files['empty'] = folder / 'empty.png'
    files['empty'].write_bytes(b'')

    label = np.zeros(rgb.shape[:2], np.uint8)
    label[:, 48:] = 3
    label[:4] = 255
    save('label.png', Image.fromarray(label))
    save('label_wrong_size.png', Image.fromarray(label[:32]))
    bad_values = label.copy()
    bad_values[10, 10] = 42
    save('label_bad_values.png', Image.fromarray(bad_values))
    return files


# --------------------------------------------------------------------------- models

def build_tiny_models(seed: int = 0):
    """(baseline, ssa) random-weight demo models, deterministic for a seed."""
    import torch

    from ssa_seg.apis import init_model

    torch.manual_seed(seed)
    baseline = init_model(str(BASELINE_CONFIG))
    torch.manual_seed(seed)
    ssa = init_model(str(SSA_CONFIG))
    return baseline, ssa


def tiny_pair(folder: Path, seed: int = 0) -> List[str]:
    """Checkpoints of a random pair; returns the app's command-line arguments for it."""
    from ssa_seg.checkpoint import save_weights

    folder.mkdir(parents=True, exist_ok=True)
    baseline, ssa = build_tiny_models(seed)
    paths = {}
    for role, model in (('baseline', baseline), ('ssa', ssa)):
        paths[role] = folder / f'tiny_{role}.pth'
        save_weights(model, paths[role], meta=dict(dataset_meta=model.dataset_meta))
    return ['--baseline', str(BASELINE_CONFIG), str(paths['baseline']),
            '--ssa', str(SSA_CONFIG), str(paths['ssa']), '--name', 'tiny',
            '--baseline-name', 'tiny_baseline', '--ssa-name', 'tiny_ssa']


# --------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class AppServer:
    """``python -m app ARGS`` on a free loopback port; stopped (by its pid) on exit."""

    def __init__(self, args: List[str], log_path: Path, startup_timeout: float = 180.0,
                 env: Optional[dict] = None):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.args = [sys.executable, '-m', 'app', '--host', '127.0.0.1',
                     '--port', str(self.port)] + list(args)
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
                        HF_HUB_DISABLE_TELEMETRY='1', PYTHONUNBUFFERED='1', **(env or {}))
        self.process: Optional[subprocess.Popen] = None

    def __enter__(self) -> 'AppServer':
        self._log = open(self.log_path, 'wb')
        self.process = subprocess.Popen(self.args, cwd=str(REPO), env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f'app exited with {self.process.returncode}:\n{self.log()}')
            try:
                with urllib.request.urlopen(self.url + 'gradio_api/info', timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f'app did not answer within {self.startup_timeout}s:\n{self.log()}')

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors='replace')[-5000:]
        except OSError:
            return ''

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its children."""
        import psutil

        proc = psutil.Process(self.process.pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    @contextlib.contextmanager
    def watch_rss(self, every: float = 0.02):
        """Samples the server's resident memory every ``every`` s while the block runs;
        yields the list of samples (the first taken before the block)."""
        samples, stop = [self.rss_bytes()], threading.Event()

        def watch():
            while not stop.is_set():
                samples.append(self.rss_bytes())
                stop.wait(every)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield samples
        finally:
            stop.set()
            watcher.join()

    @staticmethod
    def growth_mib(samples) -> float:
        """Peak resident-memory growth over the first sample of ``watch_rss``, in MiB."""
        return max(0, max(samples) - samples[0]) / 2 ** 20

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if getattr(self, '_log', None):
            self._log.close()
        return False


# Is the <img> inside the element of this id loaded (a data URL or a file, decoded)?
IMAGE_SHOWN = """(id) => { const img = document.querySelector('#' + id + ' img');
                           return !!img && img.complete && img.naturalWidth > 0; }"""


@contextlib.contextmanager
def demo_dataset_tab(tmp_path: Path):
    """The app on the demo pair in Debian's chromium, its Dataset tab open: yields the page.
    Skips (with the reason) where /usr/bin/chromium or playwright is missing."""
    import pytest
    chromium = Path('/usr/bin/chromium')
    if not chromium.exists():
        pytest.skip('Debian chromium is not installed at /usr/bin/chromium')
    sync_api = pytest.importorskip('playwright.sync_api')
    with AppServer(['--pair', 'synthscenes-demo'], tmp_path / 'server.log') as server, \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=['--no-sandbox', '--disable-gpu'])
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1900})
            page.goto(server.url, wait_until='load')
            page.get_by_role('tab', name='Dataset').click()
            yield page
        finally:
            browser.close()
