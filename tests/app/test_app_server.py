"""The app as a server: ``python -m app`` in a subprocess, driven through ``gradio_client``.

Uses a random-weight pair built from the demo configs, so it needs no shipped checkpoint;
every answer is checked against ``analysis.io`` and ``analysis.stats`` run in this process
on the same weights.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from app_inputs import (
    BASELINE_CONFIG,
    NUM_CLASSES,
    REPO,
    SSA_CONFIG,
    AppServer,
    scene,
    tiny_pair,
    write_inputs,
)
from PIL import Image

from analysis import colour, stats
from analysis import io as image_io

pytestmark = pytest.mark.slow
gradio_client = pytest.importorskip('gradio_client')
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

MAX_RSS = 2 * 1024 ** 3


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp('app_server')


@pytest.fixture(scope='module')
def pair_args(workdir):
    return tiny_pair(workdir / 'ckpt')


@pytest.fixture(scope='module')
def server(workdir, pair_args):
    with AppServer(pair_args, workdir / 'server.log') as srv:
        yield srv
        assert srv.alive(), srv.log()


@pytest.fixture(scope='module')
def client(server):
    return Client(server.url, verbose=False)


@pytest.fixture(scope='module')
def inputs(workdir):
    return write_inputs(workdir / 'inputs')


@pytest.fixture(scope='module')
def local_models(workdir, pair_args):
    """The server's two models, loaded the same way in this process."""
    from ssa_seg.apis import init_model

    return (init_model(str(BASELINE_CONFIG), pair_args[2]),
            init_model(str(SSA_CONFIG), pair_args[5]))


def expected(models, path, label=None):
    """What the server should answer, computed with the library."""
    baseline, ssa = models
    image = image_io.load_image(path)
    classes = list(baseline.dataset_meta['classes'])
    lab = None if label is None else image_io.load_label(label, image.size, len(classes))
    pair = stats.segment_pair(baseline, ssa, image)
    numbers = stats.comparison_statistics(image, pair, classes, lab, pair_name='tiny',
                                          model_names=dict(baseline='tiny_baseline',
                                                           ssa='tiny_ssa'))
    palette = colour.palette_array(baseline.dataset_meta['palette'], len(classes))[:len(classes)]
    overlays = [colour.overlay(image.work, seg.work_mask, palette.tolist(), 0.5, len(classes))
                for _, seg in pair]
    return numbers, overlays


def without_times(stats):
    stats = {**stats, 'models': {r: {k: v for k, v in m.items() if k != 'inference_seconds'}
                                 for r, m in stats['models'].items()}}
    return stats


def read_rgb(path):
    return np.asarray(Image.open(path).convert('RGB'))


# --------------------------------------------------------------------------- /compare

def test_compare_endpoint_matches_the_library(client, inputs, local_models):
    base_path, ssa_path, disagreement_path, stats, base_mask, ssa_mask = client.predict(
        handle_file(str(inputs['rgb'])), api_name='/compare')
    assert base_mask.endswith('rgb_tiny_baseline_mask.png')
    assert ssa_mask.endswith('rgb_tiny_ssa_mask.png')
    want_stats, want_overlays = expected(local_models, inputs['rgb'])
    assert without_times(stats) == without_times(want_stats)
    assert np.array_equal(read_rgb(base_path), want_overlays[0])
    assert np.array_equal(read_rgb(ssa_path), want_overlays[1])
    assert read_rgb(disagreement_path).shape == (64, 96, 3)
    for role in ('baseline', 'ssa'):
        assert 0 < stats['models'][role]['inference_seconds'] < 60


def test_compare_endpoint_api_is_documented(client):
    info = client.view_api(return_format='dict', print_info=False)
    endpoint = info['named_endpoints']['/compare']
    assert [p['parameter_name'] for p in endpoint['parameters']] == ['image', 'label', 'pair',
                                                                   'opacity']
    assert [r['label'] for r in endpoint['returns']] == ['baseline_overlay', 'ssa_overlay',
                                                         'disagreement', 'statistics',
                                                         'baseline_mask', 'ssa_mask']


def test_label_adds_iou(client, inputs, local_models):
    *_, stats, _, _ = client.predict(handle_file(str(inputs['rgb'])),
                                     handle_file(str(inputs['label'])), api_name='/compare')
    want, _ = expected(local_models, inputs['rgb'], inputs['label'])
    assert stats['evaluation'] is not None
    assert without_times(stats) == without_times(want)


# --------------------------------------------------------------------------- /figures, /shift

def expected_shift(models, path, label=None):
    """The shift numbers of the SSA-Seg model, from the library in this process."""
    from analysis.extract import extract
    from analysis.figures import FIGURES

    image = image_io.load_image(path)
    lab = None if label is None else image_io.load_label(label, image.size, NUM_CLASSES)
    kind = FIGURES['shift']
    return kind.to_json(kind.data(extract(models[1], image, lab, model_name='tiny_ssa')))


def assert_json_close(got, want, path='$'):
    """Equal structure and strings; numbers within 1e-5 (the server may use other threads)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), path
        for key in want:
            assert_json_close(got[key], want[key], f'{path}.{key}')
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_json_close(g, w, f'{path}[{i}]')
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, abs=1e-5, nan_ok=True), path
    else:
        assert got == want, path


@pytest.mark.parametrize('with_label', [False, True])
def test_shift_endpoint_matches_the_library(client, inputs, local_models, with_label):
    label = inputs['label'] if with_label else None
    got = client.predict(handle_file(str(inputs['rgb'])),
                         handle_file(str(label)) if label else None, api_name='/shift')
    want = expected_shift(local_models, inputs['rgb'], label)
    assert_json_close(got, want)


def test_figures_endpoint_matches_the_library(client, inputs, local_models):
    from analysis.figures import FIGURES, image_kinds

    files, shift = client.predict(handle_file(str(inputs['rgb'])),
                                  handle_file(str(inputs['label'])), api_name='/figures')
    names = sorted(Path(f).name for f in files)
    want_names = []
    for kind_name, kind in image_kinds().items():
        model = 'tiny_baseline_vs_tiny_ssa' if kind.uses_baseline else 'tiny_ssa'
        want_names.append(f'rgb_{model}_{kind_name}.png')
        if kind.to_json:
            want_names.append(f'rgb_{model}_{kind_name}.json')
    assert names == sorted(want_names)
    for path in files:
        if path.endswith('.png'):
            with Image.open(path) as picture:
                assert picture.format == 'PNG' and min(picture.size) > 100
    want = expected_shift(local_models, inputs['rgb'], inputs['label'])
    assert_json_close(shift, want)
    shift_file = next(f for f in files if f.endswith('_shift.json'))
    assert_json_close(json.loads(Path(shift_file).read_text()), want)
    assert FIGURES['shift'].to_json is not None


# --------------------------------------------------------------------------- /inspect

def test_inspect_endpoint_agrees_with_an_independent_computation(client, inputs, local_models):
    from inspect_reference import check_json, independent

    rgb = image_io.load_image(str(inputs['rgb'])).work            # 64 x 96, not resized
    names = list(local_models[0].dataset_meta['classes'])
    ref = independent(*local_models, rgb)
    # the label: class 0 left of column 48, class 3 right of it, rows 0..3 ignored
    for (y, x), gt in [((0, 0), None), ((63, 95), names[3]), ((30, 47), names[0]),
                       ((31, 48), names[3])]:
        got = client.predict(handle_file(str(inputs['rgb'])), y, x,
                             handle_file(str(inputs['label'])), api_name='/inspect')
        assert got['pixel'] == [y, x] and got['image_size'] == [64, 96] and got['gt'] == gt
        assert got['baseline']['name'] == 'tiny_baseline' and got['ssa']['name'] == 'tiny_ssa'
        check_json(got, ref, y, x, names)
        assert got['sentence'].startswith(('Baseline:', 'Both models say'))
    unlabelled = client.predict(handle_file(str(inputs['rgb'])), 5, 7, api_name='/inspect')
    assert unlabelled['gt'] is None
    check_json(unlabelled, ref, 5, 7, names)


@pytest.mark.parametrize('y,x', [(64, 0), (0, -1)])
def test_inspect_endpoint_refuses_a_pixel_outside_the_image(client, inputs, y, x):
    with pytest.raises(AppError, match=r'outside the 64 x 96 image'):
        client.predict(handle_file(str(inputs['rgb'])), y, x, api_name='/inspect')


def test_inspect_endpoint_reads_large_images_at_the_processing_size(client, inputs,
                                                                   local_models):
    """2400 x 1500 is processed at 1024 x 640: pixel (y, x) reads pixel (y*640//1500,
    x*1024//2400) there, and says so."""
    from inspect_reference import check_json, independent

    work = image_io.load_image(str(inputs['large'])).work
    got = client.predict(handle_file(str(inputs['large'])), 1499, 1200, api_name='/inspect')
    assert got['image_size'] == [1500, 2400] and got['processed_at'] == [640, 1024]
    assert got['pixel'] == [1499, 1200]
    check_json(got, independent(*local_models, work), 639, 512,
               list(local_models[0].dataset_meta['classes']))


def test_analysis_endpoints_refuse_unusable_images(client, server, inputs):
    for api_name in ('/shift', '/figures'):
        with pytest.raises(AppError, match='not a readable image'):
            client.predict(handle_file(str(inputs['not_image'])), api_name=api_name)
    assert server.alive()


def test_api_examples_are_local_files(server):
    """The "Use via API" page's example inputs (what /info serves) name no web URL."""
    with urllib.request.urlopen(server.url + 'gradio_api/info', timeout=10) as resp:
        text = resp.read().decode()
    # the snippets connect to this server; nothing else is a web address
    text = text.replace(server.url.rstrip('/'), 'SERVER')
    assert 'http://' not in text and 'https://' not in text
    info = Client(server.url, verbose=False).view_api(return_format='dict', print_info=False)
    examples = REPO / 'app' / 'examples' / 'images'
    for name in ('/compare', '/figures', '/shift'):
        example = info['named_endpoints'][name]['parameters'][0]['example_input']
        assert Path(example['path']).parent == examples and Path(example['path']).is_file()
        snippet = json.loads(text)['named_endpoints'][name]['code_snippets']['python']
        assert f"image=handle_file('{example['path']}')" in snippet


@pytest.mark.parametrize('name, size, mode', [
    ('rgba', (96, 64), 'RGBA'), ('gray', (96, 64), 'L'), ('palette', (96, 64), 'P'),
    ('gray16', (96, 64), 'I;16'), ('exif', (64, 96), 'RGB'), ('large', (2400, 1500), 'RGB'),
])
def test_awkward_images_are_handled(client, inputs, name, size, mode):
    base_path, ssa_path, _, stats, *_ = client.predict(handle_file(str(inputs[name])),
                                                       api_name='/compare')
    assert (stats['image']['width'], stats['image']['height']) == size
    assert stats['image']['source_mode'].startswith(mode)
    processed = (stats['image']['processed_height'], stats['image']['processed_width'])
    assert max(processed) <= 1024
    assert read_rgb(base_path).shape[:2] == processed == read_rgb(ssa_path).shape[:2]
    assert sum(stats['models']['ssa']['pixel_share'].values()) == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize('name, words', [
    ('bomb', 'decompression bomb'), ('bomb_limit', 'megapixels'),
    ('not_image', 'not a readable image'), ('truncated', 'truncated'), ('empty', 'empty'),
])
def test_unusable_images_give_a_clear_error(client, server, inputs, name, words):
    """The /compare path of the page's refusals: the same message, and a pixel bomb is
    refused from its header (the 8000 x 8000 and 20000 x 20000 PNGs would take 192 MB and
    1.2 GB decoded)."""
    with server.watch_rss() as samples, pytest.raises(AppError, match=words):
        client.predict(handle_file(str(inputs[name])), api_name='/compare')
    assert server.growth_mib(samples) < 200, f'{server.growth_mib(samples):.0f} MiB'
    assert server.alive()


@pytest.mark.parametrize('name, words', [
    ('label_wrong_size', 'must have the image'), ('label_bad_values', '42'),
    ('not_image', 'not a readable'),
])
def test_bad_labels_give_a_clear_error(client, inputs, name, words):
    with pytest.raises(AppError, match=words):
        client.predict(handle_file(str(inputs['rgb'])), handle_file(str(inputs[name])),
                       api_name='/compare')


def test_unknown_pair_is_an_error(client, inputs):
    with pytest.raises(AppError, match='not in the list of choices'):
        client.predict(handle_file(str(inputs['rgb'])), pair='no-such-pair',
                       api_name='/compare')


def test_server_still_serves_after_errors(client, inputs, local_models):
    for name in ('bomb', 'not_image', 'empty'):
        with pytest.raises(AppError):
            client.predict(handle_file(str(inputs[name])), api_name='/compare')
    stats = client.predict(handle_file(str(inputs['gray'])), api_name='/compare')[3]
    want, _ = expected(local_models, inputs['gray'])
    assert without_times(stats) == without_times(want)


def compare_concurrently(server, paths, join_timeout):
    """Each path to /compare from its own client thread, at once.

    Returns (results in path order, errors, server RSS samples taken every 50 ms meanwhile).
    """
    results, errors = [None] * len(paths), []

    def run(i):
        try:
            results[i] = Client(server.url, verbose=False).predict(
                handle_file(str(paths[i])), api_name='/compare')
        except Exception as err:  # reported by the caller with the others
            errors.append((i, repr(err)))

    with server.watch_rss(every=0.05) as peak_rss:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(paths))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=join_timeout)
    return results, errors, peak_rss


def test_eight_concurrent_clients_get_correct_results(server, workdir, local_models):
    folder = workdir / 'concurrent'
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(8):
        paths.append(folder / f'scene_{i}.png')
        Image.fromarray(scene(512, 512, seed=10 + i)).save(paths[-1])
    wants = [without_times(expected(local_models, p)[0]) for p in paths]
    results, errors, peak_rss = compare_concurrently(server, paths, join_timeout=300)
    assert not errors, errors
    for i, result in enumerate(results):
        assert result is not None
        assert without_times(result[3]) == wants[i], f'client {i} got another image\'s answer'
        assert read_rgb(result[0]).shape == (512, 512, 3)
    print(f'\n[memory] server RSS: {peak_rss[0] / 2**20:.0f} MiB idle, '
          f'{max(peak_rss) / 2**20:.0f} MiB peak with 8 clients')
    assert max(peak_rss) < MAX_RSS, f'server RSS peaked at {max(peak_rss) / 2**20:.0f} MiB'


def test_memory_stays_bounded_with_the_largest_images(server, workdir):
    """Four clients at once, each with an image just under the 40-megapixel limit."""
    big = np.zeros((5600, 7000, 4), np.uint8)         # 39.2 MP, flat regions: a small file
    big[..., 3] = 200
    big[:2800, :, 0] = 200
    big[:, 3500:, 1] = 150
    path = workdir / 'big_rgba.png'
    Image.fromarray(big, 'RGBA').save(path)
    del big
    results, errors, peak_rss = compare_concurrently(server, [path] * 4, join_timeout=600)
    assert not errors, errors
    for result in results:
        assert (result[3]['image']['width'], result[3]['image']['height']) == (7000, 5600)
        assert read_rgb(result[0]).shape == (819, 1024, 3)
    print(f'\n[memory] 4 x 39 MP: server RSS {peak_rss[0] / 2**20:.0f} MiB idle, '
          f'{max(peak_rss) / 2**20:.0f} MiB peak, {server.rss_bytes() / 2**20:.0f} MiB after')
    assert max(peak_rss) < MAX_RSS


# --------------------------------------------------------------------------- security

def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize('path', [
    'file=/etc/passwd',
    'gradio_api/file=/etc/passwd',
    'gradio_api/file=%2Fetc%2Fpasswd',
    'gradio_api/file=../../../../../../etc/passwd',
    'gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    'gradio_api/file=/tmp/gradio/../../etc/passwd',
    'gradio_api/file=app/examples/../../requirements.txt',
    f'gradio_api/file={REPO}/app/page.py',
    f'gradio_api/file={REPO}/app/examples/../../requirements.txt',
    'gradio_api/file=requirements.txt',
    'gradio_api/file=http://example.com/image.png',
    'gradio_api/file=http%3A%2F%2F127.0.0.1%2F',
    'gradio_api/file=//etc/passwd',
    'gradio_api/proxy=http://127.0.0.1/',
    'static/../../../../etc/passwd',
    'assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
])
def test_no_file_outside_the_allowed_folders_is_served(server, path):
    # urllib would normalise "..": send the path exactly as written
    status, body = raw_get(server.port, '/' + path)
    assert status in (400, 403, 404), (status, body[:200])
    assert b'root:' not in body
    assert b'torch==' not in body and b'import gradio' not in body


def raw_get(port, path):
    import http.client

    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.putrequest('GET', path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_example_files_are_served(server):
    images = sorted((REPO / 'app' / 'examples' / 'images').glob('*.png'))
    if not images:
        pytest.skip('no shipped examples in app/examples/images')
    status, body = raw_get(server.port, f'/gradio_api/file={images[0]}')
    assert status == 200 and body[:8] == b'\x89PNG\r\n\x1a\n'


def test_uploads_above_the_limit_are_refused(server, workdir):
    import http.client
    import uuid

    boundary = uuid.uuid4().hex
    payload = b'\0' * (21 * 1024 * 1024)             # the limit is 20 MB
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n').encode() + payload + \
        f'\r\n--{boundary}--\r\n'.encode()
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=60)
    try:
        conn.request('POST', '/gradio_api/upload', body=body,
                     headers={'Content-Type': f'multipart/form-data; boundary={boundary}'})
        resp = conn.getresponse()
        assert resp.status == 413, (resp.status, resp.read()[:200])
    finally:
        conn.close()


def test_paths_that_were_not_uploaded_are_refused(server):
    import http.client
    import json

    payload = json.dumps({'data': [{'path': '/etc/passwd', 'meta': {'_type': 'gradio.FileData'}},
                                   None, 'tiny', 0.5]})
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
    conn.request('POST', '/gradio_api/call/compare', body=payload,
                 headers={'Content-Type': 'application/json'})
    event_id = json.loads(conn.getresponse().read())['event_id']
    conn.close()
    status, body = raw_get(server.port, f'/gradio_api/call/compare/{event_id}')
    assert b'event: error' in body and b'root:' not in body


def test_remote_urls_are_not_fetched(client):
    with pytest.raises(AppError, match='does not fetch URLs'):
        client.predict({'path': 'http://127.0.0.1:9/x.png', 'url': 'http://127.0.0.1:9/x.png',
                        'meta': {'_type': 'gradio.FileData'}}, api_name='/compare')


def test_command_line_errors_are_clear(workdir):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, '-m', 'app', '--baseline', 'missing.py', 'x.pth',
                             '--ssa', 'missing.py', 'y.pth', '--port', '1'],
                            cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert '--baseline: config not found: missing.py' in result.stderr


def test_a_call_without_a_label_is_not_scored_against_an_earlier_one(client, inputs,
                                                                     local_models):
    """/compare with a label, then the same image without one (the label would fit): the
    second answer has no evaluation and equals the library's unlabelled statistics."""
    rgb, label = handle_file(str(inputs['rgb'])), handle_file(str(inputs['label']))
    *_, first, _, _ = client.predict(rgb, label, api_name='/compare')
    assert first['evaluation'] is not None
    *_, second, _, _ = client.predict(rgb, api_name='/compare')
    want, _ = expected(local_models, inputs['rgb'])
    assert second['evaluation'] is None
    assert without_times(second) == without_times(want)
