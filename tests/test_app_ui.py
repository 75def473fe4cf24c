"""The app's Python layer, in process: pairs, command line, security filter, page wiring,
error messages and the Analysis tab functions (no server, no browser)."""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
gr = pytest.importorskip('gradio')

from app_inputs import BASELINE_CONFIG, REPO, SSA_CONFIG, tiny_pair, write_inputs  # noqa: E402

from analysis import colour  # noqa: E402
from app import cli, security, ui  # noqa: E402
from app.pairs import PairError, PairRegistry, pair_from_paths  # noqa: E402


@pytest.fixture(scope='module')
def pair_args(tmp_path_factory):
    return tiny_pair(tmp_path_factory.mktemp('ckpt'))


@pytest.fixture(scope='module')
def registry(pair_args):
    spec = pair_from_paths(pair_args[1:3], pair_args[4:6], name='tiny')
    return PairRegistry([spec])


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp('inputs'))


def test_registry_loads_each_pair_once(registry):
    first = registry.get()
    assert registry.get('tiny') is first            # cached: models are built once
    assert first.classes[0] == 'sky' and len(first.palette) == first.num_classes == 10
    assert first.model_names == dict(baseline='tiny_baseline', ssa='tiny_ssa')
    with pytest.raises(PairError, match='unknown model pair'):
        registry.get('other')


def test_registry_rejects_duplicates_and_missing_defaults(registry):
    spec = registry.specs['tiny']
    with pytest.raises(PairError, match='two pairs'):
        PairRegistry([spec, spec])
    with pytest.raises(PairError, match='no pair named'):
        PairRegistry([spec], default='x')
    with pytest.raises(PairError, match='no model pair'):
        PairRegistry([])


def test_pair_from_paths_checks_files(tmp_path):
    with pytest.raises(PairError, match='--ssa: checkpoint not found'):
        pair_from_paths([str(BASELINE_CONFIG), str(BASELINE_CONFIG)],
                        [str(SSA_CONFIG), str(tmp_path / 'missing.pth')])


def test_command_line_pairs(pair_args, tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args(pair_args + ['--manifest', str(tmp_path / 'none.yaml')])
    with pytest.raises(PairError, match='manifest not found'):
        cli.collect_pairs(args)          # an explicitly named manifest must exist
    manifest = tmp_path / 'manifest.yaml'
    manifest.write_text(
        'models:\n'
        f'  - {{name: a, config: {BASELINE_CONFIG}, checkpoint: {pair_args[2]},\n'
        '     classes: [], palette: []}\n'
        f'  - {{name: b, config: {SSA_CONFIG}, checkpoint: {pair_args[5]},\n'
        '     classes: [], palette: []}\n'
        'pairs:\n  - {name: zoo, baseline: a, ssa: b}\n')
    specs, default = cli.collect_pairs(parser.parse_args(['--manifest', str(manifest)]))
    assert [s.name for s in specs] == ['zoo'] and default is None
    specs, default = cli.collect_pairs(parser.parse_args(pair_args + ['--manifest', str(manifest)]))
    assert [s.name for s in specs] == ['zoo', 'tiny'] and default == 'tiny'
    specs, default = cli.collect_pairs(parser.parse_args(
        pair_args + ['--manifest', str(manifest), '--pair', 'zoo']))
    assert default == 'zoo'
    with pytest.raises(PairError, match='no pair named'):
        cli.collect_pairs(parser.parse_args(['--manifest', str(manifest), '--pair', 'nope']))
    with pytest.raises(PairError, match='go together'):
        cli.collect_pairs(argparse.Namespace(baseline=['a', 'b'], ssa=None, manifest=None,
                                             pair=None, name=None))


def test_command_line_defaults_are_local_and_safe():
    args = cli.build_parser().parse_args([])
    assert (args.host, args.port) == ('127.0.0.1', 7860)
    assert args.max_file_size == '20mb' and args.concurrency == 1
    assert cli._is_loopback('127.0.0.1') and cli._is_loopback('localhost')
    assert not cli._is_loopback('0.0.0.0')


@pytest.mark.parametrize('path, refused', [
    ('/gradio_api/file=http://example.com/a.png', True),
    ('/gradio_api/file=HTTPS://example.com/a.png', True),
    ('/gradio_api/file=http%3A%2F%2Fexample.com', True),
    ('/gradio_api/file=http%253A%252F%252Fexample.com', True),
    ('/gradio_api/file=//host/share/x', True),
    ('/gradio_api/file=data:image/png;base64,AAAA', True),
    ('/gradio_api/proxy=http://example.com/', True),
    ('/gradio_api/file=/tmp/gradio/abc/image.png', False),
    ('/gradio_api/upload', False),
    ('/', False),
])
def test_remote_fetch_filter(path, refused):
    assert security.is_refused_path(path) is refused


def test_examples_are_listed_with_their_labels():
    rows = ui.list_examples()
    if not rows:
        pytest.skip('no shipped examples')
    for image, label in rows:
        assert image.startswith(str(REPO / 'app' / 'examples'))
        assert label is None or label.endswith('.png')
    assert ui.list_examples(REPO / 'no-such-dir') == []


def test_user_errors_are_escaped():
    err = ui.user_error('bad <script>alert(1)</script> & co')
    assert isinstance(err, gr.Error)
    assert '<script>' not in err.message and '&lt;script&gt;' in err.message


@pytest.mark.parametrize('name, words', [
    ('bomb', 'decompression bomb'), ('not_image', 'not a readable image'),
    ('truncated', 'truncated'), ('empty', 'empty'),
])
def test_comparison_errors_become_page_messages(registry, inputs, name, words):
    with pytest.raises(gr.Error, match=words):
        ui.ComparisonRun(registry, str(inputs[name]))


def test_comparison_run_and_api_outputs(registry, inputs):
    with pytest.raises(gr.Error, match='Upload an image'):
        ui.ComparisonRun(registry, None)
    with pytest.raises(gr.Error, match='must have the image'):
        ui.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label_wrong_size']))
    run = ui.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    json.dumps(run.stats, allow_nan=False)
    assert run.stats['evaluation'] is not None and run.stats['pair'] == 'tiny'
    base, ssa, disagreement, stats = ui.api_compare(registry, str(inputs['rgb']))
    pictures = [np.asarray(Image.open(p)) for p in (base, ssa, disagreement)]
    assert all(p.shape == (64, 96, 3) for p in pictures)
    assert base.startswith(gr.utils.get_upload_folder())
    assert stats['evaluation'] is None
    expected = colour.overlay(run.image.work, run.segmentation.baseline.work_mask,
                               run.pair.palette, 0.5, run.pair.num_classes)
    assert np.array_equal(pictures[0], expected)
    assert np.array_equal(pictures[2], run.disagreement())
    state = run.view_state()
    assert state['work'].shape == (64, 96, 3) and state['label'].shape == (64, 96)
    files = run.mask_files()
    assert [os.path.basename(f) for f in files] == ['baseline_mask.png', 'ssa_mask.png']
    assert all(f.startswith(gr.utils.get_upload_folder()) for f in files)


def test_demo_has_the_documented_compare_endpoint(registry):
    demo = ui.build_demo(registry)
    api = demo.get_api_info()
    endpoint = api['named_endpoints']['/compare']
    assert [p['parameter_name'] for p in endpoint['parameters']] == ['image', 'label', 'pair',
                                                                   'opacity']
    assert not endpoint['parameters'][0]['parameter_has_default']
    assert all(p['parameter_has_default'] for p in endpoint['parameters'][1:])
    assert list(api['named_endpoints']) == ['/compare']    # the page's own events are private


@pytest.mark.slow
def test_analysis_tab_functions(registry, inputs):
    with pytest.raises(gr.Error, match='Segment an image'):
        ui.analysis_figures(registry, None, None)
    with pytest.raises(gr.Error, match='Compute the figures'):
        ui.export_figures(None)
    run = ui.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    tsne, relations, shift, data = ui.analysis_figures(registry, run.view_state(), 'road')
    assert 'road' in tsne.layout.title.text
    assert len(relations.data) == 3            # fixed, adapted and (with the label) teacher
    assert set(data) == {'tsne', 'relations', 'shift'}      # one per registered figure
    with pytest.raises(gr.Error, match='at least one format'):
        ui.export_figures(data, [])
    files = ui.export_figures(data, ['png', 'svg', 'pdf'])
    assert len(files) == 9
    heads = {os.path.splitext(f)[1]: open(f, 'rb').read(5) for f in files}
    assert heads['.png'][1:4] == b'PNG' and heads['.pdf'] == b'%PDF-' and heads['.svg'][:1] == b'<'


@pytest.mark.slow
def test_pair_selector_only_with_several_pairs(registry):
    def pair_dropdown(demo):
        return [b for b in demo.blocks.values()
                if isinstance(b, gr.Dropdown) and b.label == 'Model pair'][0]

    single = ui.build_demo(registry)
    assert pair_dropdown(single).visible is False
    spec = registry.specs['tiny']
    two = PairRegistry([spec, type(spec)('tiny copy', spec.baseline, spec.ssa)], default='tiny')
    dropdown = pair_dropdown(ui.build_demo(two))
    assert dropdown.visible is True and dropdown.value == 'tiny'
    assert [c[0] for c in dropdown.choices] == ['tiny', 'tiny copy']
    assert two.get('tiny copy') is not two.get('tiny')       # each pair loaded on first use
