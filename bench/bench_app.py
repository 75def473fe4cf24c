"""App latency: upload to both masks, demo pair, a 512 x 512 image (target < 1 s on 2 cores).

Measured side by side in one run (the library first; then the server probes interleaved,
one call of each per round):
1. the library alone: ``analysis.io`` / ``analysis.stats`` on the PNG file (decode, both
   models, statistics,
   overlays, disagreement map), i.e. everything the server computes;
2. through the server: ``gradio_client`` calling ``/compare`` (upload, queue, both models,
   PNG encoding, download of the three result images), i.e. what a user waits for.

Then the server under load (``--load-calls`` calls per client, 0 to skip), side by side:
``/compare`` p50/p95 for one client alone, one client while another calls ``/figures`` back
to back, 8 clients, 8 clients beside a figures client; then 32 clients at once (one call
each, beside a figures client): errors and the server's peak resident memory.

The server is the one at ``--url`` if given, else ``python -m app`` started here on a free
loopback port (and stopped afterwards) with the manifest's default pair, or the ``--baseline``
/ ``--ssa`` pair given. Without a manifest and without paths, a random-weight pair with the
demo configs is used (same architecture and cost, meaningless masks); the output says so.

Run: .venv/bin/python bench/bench_app.py [--repeats 20] [--load-calls 30] [--url URL]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'      # gradio_client phones home otherwise
os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'
TARGET_SECONDS = 1.0
DEMO_BASELINE = REPO / 'ssa_seg' / 'configs' / 'demo' / 'baseline_synthscenes.py'
DEMO_SSA = REPO / 'ssa_seg' / 'configs' / 'demo' / 'ssa_synthscenes.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--url', default=None, help='a running app (else one is started)')
    parser.add_argument('--pair', default=None, help='manifest pair (default: the first)')
    parser.add_argument('--baseline', nargs=2, metavar=('CONFIG', 'CHECKPOINT'))
    parser.add_argument('--ssa', nargs=2, metavar=('CONFIG', 'CHECKPOINT'))
    parser.add_argument('--load-calls', type=int, default=30,
                        help='/compare calls per client in the load runs (0: skip them)')
    parser.add_argument('--browser', action='store_true',
                        help='also time the page in chromium (upload until both masks are drawn)')
    return parser.parse_args()


def test_image(folder: Path, size: int) -> Path:
    """A SynthScenes validation-style scene at ``size`` x ``size``, as a PNG upload."""
    from PIL import Image

    from ssa_seg.synthscenes import image_rng, render_scene

    image, _ = render_scene(image_rng(0, 'val', 0), size)
    path = folder / f'scene_{size}.png'
    Image.fromarray(image).save(path)
    return path


def resolve_pair(args, folder: Path):
    """(app arguments, (baseline config, checkpoint), (ssa config, checkpoint), description)."""
    if args.baseline and args.ssa:
        return (['--baseline', *args.baseline, '--ssa', *args.ssa, '--name', 'bench'],
                tuple(args.baseline), tuple(args.ssa), 'pair from --baseline/--ssa')
    try:
        from ssa_seg.zoo import load_zoo

        pair = load_zoo().pair(args.pair)
        base, ssa = pair.baseline, pair.ssa
        return (['--pair', pair.name], (base.config, base.checkpoint),
                (ssa.config, ssa.checkpoint), f'demo pair {pair.name!r} (manifest)')
    except Exception as err:  # no manifest yet: same architecture, random weights
        import torch

        from ssa_seg.apis import init_model
        from ssa_seg.checkpoint import save_weights

        paths = {}
        for role, config in (('baseline', DEMO_BASELINE), ('ssa', DEMO_SSA)):
            torch.manual_seed(0)
            model = init_model(str(config))
            paths[role] = folder / f'random_{role}.pth'
            save_weights(model, paths[role], meta=dict(dataset_meta=model.dataset_meta))
        return (['--baseline', str(DEMO_BASELINE), str(paths['baseline']), '--ssa',
                 str(DEMO_SSA), str(paths['ssa']), '--name', 'random'],
                (str(DEMO_BASELINE), str(paths['baseline'])), (str(DEMO_SSA), str(paths['ssa'])),
                f'RANDOM-WEIGHT pair with the demo configs (no manifest: {err})')


def summary(samples):
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))]
    return statistics.median(samples), p90, samples[0]


class LibraryProbe:
    """The library alone: everything the server computes for one request."""

    def __init__(self, image_path, baseline_spec, ssa_spec):
        from ssa_seg.apis import init_model

        self.image_path = image_path
        self.baseline, self.ssa = init_model(*baseline_spec), init_model(*ssa_spec)
        self.classes = list(self.baseline.dataset_meta['classes'])
        self.palette = self.baseline.dataset_meta['palette']
        self.models_only = []

    def once(self) -> float:
        from analysis import colour, stats
        from analysis import io as image_io

        t0 = time.perf_counter()
        image = image_io.load_image(self.image_path)
        pair = stats.segment_pair(self.baseline, self.ssa, image)
        stats.comparison_statistics(image, pair, self.classes)
        for _, seg in pair:
            colour.overlay(image.work, seg.work_mask, self.palette, 0.5, len(self.classes))
        colour.disagreement_image(image.work, pair.baseline.work_mask, pair.ssa.work_mask)
        elapsed = time.perf_counter() - t0
        self.models_only.append(pair.baseline.seconds + pair.ssa.seconds)
        return elapsed


def start_server(app_args, log_path):
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    log = open(log_path, 'wb')
    process = subprocess.Popen([sys.executable, '-m', 'app', '--port', str(port), *app_args],
                               cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, GRADIO_ANALYTICS_ENABLED='False'))
    url = f'http://127.0.0.1:{port}/'
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f'app exited: {Path(log_path).read_text()[-3000:]}')
        try:
            urllib.request.urlopen(url + 'gradio_api/info', timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError('app did not start within 180 s')


class ClientProbe:
    """``gradio_client`` calling ``/compare``: upload, queue, models, PNGs, downloads."""

    def __init__(self, url, image_path):
        from gradio_client import Client, handle_file

        self.client, self.file = Client(url, verbose=False), handle_file(str(image_path))
        self.stats = None

    def once(self) -> float:
        t0 = time.perf_counter()
        base, ssa, _, self.stats, *_masks = self.client.predict(self.file, api_name='/compare')
        elapsed = time.perf_counter() - t0
        assert Path(base).is_file() and Path(ssa).is_file(), 'masks missing from the answer'
        return elapsed


class BrowserProbe:
    """The page in chromium: upload until both mask images are decoded and shown."""

    ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run']
    SHOWN = """(old) => ['baseline-mask', 'ssa-mask'].every((id, i) => {
        const img = document.querySelector('#' + id + ' img');
        return img && img.complete && img.naturalWidth > 0 && img.src !== old[i]; })"""
    SOURCES = """() => ['baseline-mask', 'ssa-mask'].map(id => {
        const img = document.querySelector('#' + id + ' img'); return img ? img.src : ''; })"""

    def __init__(self, url, image_path):
        from playwright.sync_api import sync_playwright

        self.image_path = str(image_path)
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path='/usr/bin/chromium',
                                                       args=self.ARGS)
        self.page = self.browser.new_page(viewport={'width': 1400, 'height': 1800})
        self.page.goto(url, wait_until='load')
        self.upload = self.page.locator('#image-input input[type=file]')
        self.upload.wait_for(state='attached', timeout=60_000)

    def once(self) -> float:
        before = self.page.evaluate(self.SOURCES)
        t0 = time.perf_counter()
        self.upload.set_input_files(self.image_path)
        self.page.wait_for_function(self.SHOWN, arg=before, timeout=60_000, polling=10)
        elapsed = time.perf_counter() - t0
        # let the rest of the page (tables, share chart) finish before the next probe runs
        self.page.locator('#share-plot .ssa-share-bar').first.wait_for(timeout=60_000)
        self.page.locator('#image-input button[aria-label="Remove Image"]').click()
        self.page.wait_for_function("() => !document.querySelector('#ssa-mask img')",
                                    timeout=60_000)
        return elapsed

    def close(self):
        self.browser.close()
        self.playwright.stop()


def interleaved(probes, repeats, warmup, pause=0.25):
    """Seconds per call of each probe; one call of each in turn per round, so that load
    from other processes on the machine hits all of them alike. The pause lets the previous
    probe's process go idle (OpenMP threads keep spinning for a while after torch work and
    would take the 2 cores from the next probe, in another process)."""
    samples = {name: [] for name in probes}
    for round_index in range(warmup + repeats):
        for name, probe in probes.items():
            time.sleep(pause)
            elapsed = probe.once()
            if round_index >= warmup:
                samples[name].append(elapsed)
    return samples


# --------------------------------------------------------------------------- load

def p50_p95(samples):
    """Nearest-rank median and 95th percentile."""
    ordered = sorted(samples)
    return (ordered[(len(ordered) - 1) // 2],
            ordered[min(len(ordered) - 1, -(-95 * len(ordered) // 100) - 1)])


class FiguresLoad:
    """Another client calling ``/figures`` back to back while the block runs."""

    def __init__(self, url, image_path):
        from gradio_client import Client, handle_file

        self.client, self.file = Client(url, verbose=False), handle_file(str(image_path))
        self.stop, self.done, self.errors = threading.Event(), 0, []

    def _loop(self):
        while not self.stop.is_set():
            try:
                self.client.predict(self.file, api_name='/figures')
                self.done += 1
            except Exception as err:  # counted and printed, the run goes on
                self.errors.append(repr(err))

    def __enter__(self):
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        time.sleep(1.0)                     # the first /figures call is under way
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=600)
        return False


def compare_clients(url, image_path, clients, calls):
    """``clients`` clients each calling ``/compare`` ``calls`` times at once; returns
    (seconds per call, errors, wall seconds)."""
    from gradio_client import Client, handle_file

    file = handle_file(str(image_path))
    connected = [Client(url, verbose=False) for _ in range(clients)]
    samples, errors = [], []

    def run(client):
        for _ in range(calls):
            t0 = time.perf_counter()
            try:
                client.predict(file, api_name='/compare')
                samples.append(time.perf_counter() - t0)
            except Exception as err:  # counted and printed
                errors.append(repr(err))

    threads = [threading.Thread(target=run, args=(c,)) for c in connected]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, errors, time.perf_counter() - start


def peak_rss(pid, block):
    """(result of ``block()``, peak resident memory in bytes of ``pid`` and its children
    sampled every 50 ms meanwhile; None without a pid)."""
    if pid is None:
        return block(), None
    import psutil

    proc, peak, stop = psutil.Process(pid), [0], threading.Event()

    def watch():
        while not stop.is_set():
            rss = proc.memory_info().rss + sum(c.memory_info().rss
                                               for c in proc.children(recursive=True))
            peak[0] = max(peak[0], rss)
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return block(), peak[0]
    finally:
        stop.set()
        watcher.join()


def load_runs(url, image_path, calls, pid):
    """The load table (see the module's docstring)."""
    rows = []
    for name, clients, figures in (('1 client alone', 1, False),
                                   ('1 client, figures computed beside', 1, True),
                                   ('8 clients', 8, False),
                                   ('8 clients, figures computed beside', 8, True)):
        per_client = calls if clients == 1 else max(1, calls // 4)
        if figures:
            with FiguresLoad(url, image_path) as load:
                samples, errors, wall = compare_clients(url, image_path, clients, per_client)
            extra = f'{load.done} /figures done, {len(load.errors)} errors'
        else:
            samples, errors, wall = compare_clients(url, image_path, clients, per_client)
            extra = ''
        rows.append((name, samples, errors, wall, extra))
    print(f'\n/compare under load ({image_path.name}; p95 target < 1.5 s for one client '
          'beside figures)')
    print(f'{"load":38s} {"calls":>5s} {"p50":>7s} {"p95":>7s} {"req/s":>6s} {"errors":>6s}')
    for name, samples, errors, wall, extra in rows:
        p50, p95 = p50_p95(samples) if samples else (float('nan'),) * 2
        print(f'{name:38s} {len(samples):5d} {p50:6.2f}s {p95:6.2f}s '
              f'{len(samples) / wall:6.2f} {len(errors):6d}  {extra}')
        for error in errors[:3]:
            print(f'    error: {error[:200]}')

    def burst():
        with FiguresLoad(url, image_path) as load:
            result = compare_clients(url, image_path, 32, 1)
        return result, load

    ((samples, errors, wall), load), rss = peak_rss(pid, burst)
    memory = 'n/a (server not started here)' if rss is None else f'{rss / 2 ** 30:.2f} GB'
    print(f'32 clients at once beside a figures client: {len(samples)} answers, '
          f'{len(errors)} errors, {wall:.1f} s, p95 {p50_p95(samples)[1]:.2f} s; '
          f'server peak resident memory {memory}; figures client {len(load.errors)} errors')
    for error in sorted(set(errors + load.errors))[:5]:
        print(f'    error: {error[:300]}')


def main():
    args = parse_args()
    import torch

    with tempfile.TemporaryDirectory(prefix='bench_app_') as tmp:
        folder = Path(tmp)
        image_path = test_image(folder, args.size)
        app_args, baseline_spec, ssa_spec, description = resolve_pair(args, folder)
        print(f'[app] {description}; image {args.size}x{args.size}; torch threads '
              f'{torch.get_num_threads()}; load average {os.getloadavg()[0]:.2f}; '
              f'{args.repeats} repeats after {args.warmup} warm-up')

        # the library first, with no server or browser running beside it in this run
        library = LibraryProbe(image_path, baseline_spec, ssa_spec)
        samples = interleaved({'library': library}, args.repeats, args.warmup, pause=0.0)
        process, browser = None, None
        url = args.url
        try:
            if url is None:
                process, url = start_server(app_args, folder / 'server.log')
            probes = {'client': ClientProbe(url, image_path)}
            if args.browser:
                if Path('/usr/bin/chromium').exists():
                    browser = probes['browser'] = BrowserProbe(url, image_path)
                else:
                    print('[app] --browser: /usr/bin/chromium not found, skipped')
            samples.update(interleaved(probes, args.repeats, args.warmup))
            if args.load_calls > 0:
                load_runs(url, image_path, args.load_calls,
                          process.pid if process is not None else None)
        finally:
            if browser is not None:
                browser.close()
            if process is not None:
                process.terminate()
                process.wait(timeout=30)

    rows = [('both models (inference_model x2)', library.models_only[args.warmup:]),
            ('library: file -> masks, stats, overlays', samples['library']),
            ('server: gradio_client /compare round trip', samples['client'])]
    if 'browser' in samples:
        rows.append(('page: upload -> both masks drawn (chromium)', samples['browser']))
    print(f'{"":44s} {"median":>8s} {"p90":>8s} {"min":>8s}')
    for name, values in rows:
        med, p90, low = summary(values)
        print(f'{name:44s} {1000 * med:7.0f}ms {1000 * p90:7.0f}ms {1000 * low:7.0f}ms')
    server_median, library_median = summary(samples['client'])[0], summary(samples['library'])[0]
    print(f'server overhead over the library call: {1000 * (server_median - library_median):.0f}'
          f' ms ({server_median / library_median:.2f}x)')
    stats = probes['client'].stats
    timing = stats['models']
    print(f'last answer: baseline {1000 * timing["baseline"]["inference_seconds"]:.0f} ms, '
          f'SSA-Seg {1000 * timing["ssa"]["inference_seconds"]:.0f} ms (server-side)')
    verdict = 'PASS' if server_median < TARGET_SECONDS else 'FAIL'
    print(f'upload to both masks (server, median): {server_median:.3f} s; target < '
          f'{TARGET_SECONDS:.1f} s: {verdict}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
