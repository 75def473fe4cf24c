"""The app's Python layer, in process: pairs, command line, security filter, page wiring,
error messages and the Analysis tab functions (no server, no browser)."""
from __future__ import annotations

import argparse
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
gr = pytest.importorskip('gradio')

from app_inputs import BASELINE_CONFIG, REPO, SSA_CONFIG, tiny_pair, write_inputs  # noqa: E402

from analysis import colour  # noqa: E402
from analysis.shift import MIN_PIXELS  # noqa: E402
from app import cli, errors, export, page, security, services, viewer  # noqa: E402
from app.pairs import PairError, PairRegistry, pair_from_paths  # noqa: E402
from app.tabs import analysis as analysis_tab  # noqa: E402


@pytest.fixture(scope='module')
def pair_args(tmp_path_factory):
    return tiny_pair(tmp_path_factory.mktemp('ckpt'))


@pytest.fixture(scope='module')
def registry(pair_args):
    spec = pair_from_paths(pair_args[1:3], pair_args[4:6], name='tiny',
                           baseline_name='tiny_baseline', ssa_name='tiny_ssa')
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
    rows = services.list_examples()
    if not rows:
        pytest.skip('no shipped examples')
    for image, label in rows:
        assert image.startswith(str(REPO / 'app' / 'examples'))
        assert label is None or label.endswith('.png')
    assert services.list_examples(REPO / 'no-such-dir') == []


def test_user_errors_are_escaped():
    err = errors.user_error('bad <script>alert(1)</script> & co')
    assert isinstance(err, gr.Error)
    assert '<script>' not in err.message and '&lt;script&gt;' in err.message


@pytest.mark.parametrize('raised, title, text', [
    (ValueError('no pixels of class <road>'), 'Bad option', 'no pixels of class &lt;road&gt;'),
    (KeyError('tsne'), 'Bad option', "'tsne'"),
    (RuntimeError('out of memory'), 'Analysis failed', 'RuntimeError: out of memory'),
    (gr.Error('made already', title='Kept'), 'Kept', 'made already'),
])
def test_library_errors_become_one_page_message(raised, title, text):
    with pytest.raises(gr.Error) as caught:
        with errors.user_errors('Bad option'):
            raise raised
    assert (caught.value.title, caught.value.message) == (title, text)


def test_analysis_without_an_image_says_so(registry):
    for call in (lambda: services.shift_numbers(registry, None),
                 lambda: services.analysis_figures(registry, None, None)):
        with pytest.raises(gr.Error, match='Segment an image') as caught:
            call()
        assert caught.value.title == 'No image yet'


@pytest.mark.parametrize('name, words', [
    ('bomb', 'decompression bomb'), ('not_image', 'not a readable image'),
    ('truncated', 'truncated'), ('empty', 'empty'),
])
def test_comparison_errors_become_page_messages(registry, inputs, name, words):
    with pytest.raises(gr.Error, match=words):
        services.ComparisonRun(registry, str(inputs[name]))


def test_comparison_run_and_api_outputs(registry, inputs):
    with pytest.raises(gr.Error, match='Upload an image'):
        services.ComparisonRun(registry, None)
    with pytest.raises(gr.Error, match='must have the image'):
        services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label_wrong_size']))
    run = services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    json.dumps(run.stats, allow_nan=False)
    assert run.stats['evaluation'] is not None and run.stats['pair'] == 'tiny'
    base, ssa, disagreement, stats, base_mask, ssa_mask = services.api_compare(registry,
                                                                         str(inputs['rgb']))
    assert os.path.basename(base_mask) == 'rgb_tiny_baseline_mask.png'
    assert np.array_equal(np.asarray(Image.open(ssa_mask)), run.segmentation.ssa.mask)
    pictures = [np.asarray(Image.open(p)) for p in (base, ssa, disagreement)]
    assert all(p.shape == (64, 96, 3) for p in pictures)
    assert base.startswith(gr.utils.get_upload_folder())
    assert stats['evaluation'] is None
    expected = colour.overlay(run.image.work, run.segmentation.baseline.work_mask,
                               run.pair.palette, 0.5, run.pair.num_classes)
    assert np.array_equal(pictures[0], expected)
    assert np.array_equal(pictures[2], run.disagreement())
    state = run.view_state()
    assert state.work.shape == (64, 96, 3) and state.label.shape == (64, 96)
    files = run.mask_files()
    assert [os.path.basename(f) for f in files] == ['rgb_tiny_baseline_mask.png',
                                                    'rgb_tiny_ssa_mask.png']
    assert all(f.startswith(gr.utils.get_upload_folder()) for f in files)


def test_demo_has_the_documented_compare_endpoint(registry):
    demo = page.build_demo(registry)
    api = demo.get_api_info()
    endpoint = api['named_endpoints']['/compare']
    assert [p['parameter_name'] for p in endpoint['parameters']] == ['image', 'label', 'pair',
                                                                   'opacity']
    assert not endpoint['parameters'][0]['parameter_has_default']
    assert all(p['parameter_has_default'] for p in endpoint['parameters'][1:])
    # the page's own events are private
    assert list(api['named_endpoints']) == ['/compare', '/figures', '/shift', '/inspect']
    assert [r['label'] for r in endpoint['returns']][-2:] == ['baseline_mask', 'ssa_mask']
    figures = api['named_endpoints']['/figures']
    assert [p['parameter_name'] for p in figures['parameters']] == ['image', 'label', 'pair',
                                                                  'class_name']
    assert [r['label'] for r in figures['returns']] == ['figures', 'shift']
    shift = api['named_endpoints']['/shift']
    assert [p['parameter_name'] for p in shift['parameters']] == ['image', 'label', 'pair']
    assert [r['label'] for r in shift['returns']] == ['shift']
    inspect = api['named_endpoints']['/inspect']
    assert [p['parameter_name'] for p in inspect['parameters']] == ['image', 'y', 'x', 'label',
                                                                   'pair']
    assert [p['parameter_has_default'] for p in inspect['parameters']] == [False] * 3 + [True] * 2


def test_api_examples_are_local_files(registry):
    """The "Use via API" page's example inputs are the shipped example files, no URL."""
    api = page.build_demo(registry).get_api_info()
    text = json.dumps(api)
    assert 'http://' not in text and 'https://' not in text
    for name, endpoint in api['named_endpoints'].items():
        image = endpoint['parameters'][0]['example_input']
        assert os.path.isfile(image['path']), name
        assert image['path'].startswith(str(REPO / 'app' / 'examples' / 'images'))


@pytest.mark.slow
def test_analysis_tab_functions(registry, inputs):
    with pytest.raises(gr.Error, match='Segment an image'):
        services.analysis_figures(registry, None, None)
    with pytest.raises(gr.Error, match='Compute the figures'):
        export.export_figures(None)
    run = services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    state = run.view_state()
    options = analysis_tab.figure_options()
    values = [{'seed': 3, 'max_points': 500, 'scale': 'linear'}.get(o.name, o.value)
              for o in options]
    chosen = analysis_tab.options_by_kind(options, values)
    assert chosen['tsne']['seed'] == 3 and chosen['tsne']['max_points'] == 500
    assert chosen['relations']['scale'] == 'linear'
    # the kind's defaults: every class over MIN_PIXELS, the 20 largest, none named
    assert chosen['shift'] == {'min_pixels': MIN_PIXELS, 'max_classes': 20, 'shift_classes': ()}
    told = []
    tsne, relations, shift, data = services.analysis_figures(
        registry, state, 'road', chosen, progress=lambda f, desc: told.append((f, desc)))
    # the tab's progress bar names each figure before it is computed, in order
    from analysis.figures import image_kinds
    assert [d for _, d in told if d.startswith('Figure: ')] == [
        f'Figure: {k.title}' for k in image_kinds().values()]
    assert [f for f, _ in told] == sorted(f for f, _ in told) and 0 <= told[0][0] < 1
    assert 'road' in tsne.layout.title.text
    for fig in (tsne, relations, shift):     # each title ends with the seconds it took
        assert re.search(r' · computed in \d+\.\d s$', fig.layout.title.text), fig.layout.title
    assert len(relations.data) == 3            # fixed, adapted and (with the label) teacher
    assert set(data) == {'tsne', 'relations', 'shift'}      # one per registered figure
    with pytest.raises(gr.Error, match='at least one format'):
        export.export_figures(data, [])
    files = export.download_all(data, ['png', 'svg', 'pdf'], state)
    names = [os.path.basename(f) for f in files]
    assert names[0] == 'rgb_figures.zip'
    assert 'rgb_tiny_baseline_vs_tiny_ssa_tsne.pdf' in names
    assert 'rgb_tiny_ssa_relations.svg' in names and 'rgb_tiny_ssa_shift.json' in names
    assert len(files) == 1 + 9 + 1             # zip, 3 figures x 3 formats, the shift numbers
    import zipfile
    assert sorted(zipfile.ZipFile(files[0]).namelist()) == sorted(names[1:])
    heads = {os.path.splitext(f)[1]: open(f, 'rb').read(5) for f in files}
    assert heads['.png'][1:4] == b'PNG' and heads['.pdf'] == b'%PDF-' and heads['.svg'][:1] == b'<'
    with pytest.raises(gr.Error, match='max-points'):
        analysis_tab.options_by_kind(options, [{'max_points': -1}.get(o.name, o.value)
                                               for o in options])


@pytest.mark.slow
def test_pair_selector_only_with_several_pairs(registry):
    def pair_dropdown(demo):
        return [b for b in demo.blocks.values()
                if isinstance(b, gr.Dropdown) and b.label == 'Model pair'][0]

    single = page.build_demo(registry)
    assert pair_dropdown(single).visible is False
    spec = registry.specs['tiny']
    two = PairRegistry([spec, type(spec)('tiny copy', spec.baseline, spec.ssa)], default='tiny')
    dropdown = pair_dropdown(page.build_demo(two))
    assert dropdown.visible is True and dropdown.value == 'tiny'
    assert [c[0] for c in dropdown.choices] == ['tiny', 'tiny copy']
    assert two.get('tiny copy') is not two.get('tiny')       # each pair loaded on first use


def test_upload_protection_survives_a_rebuilt_component(registry, inputs):
    """Gradio rebuilds a component for the session as ``type(c)(**c.constructor_args)``
    whenever an event updates its properties (an example click does): the rebuilt widget
    must still pass the path through undecoded and refuse URLs."""
    from gradio.components.image import ImageData

    demo = page.build_demo(registry)
    image_in = [b for b in demo.blocks.values() if getattr(b, 'elem_id', '') == 'image-input'][0]
    rebuilt = type(image_in)(**{**image_in.constructor_args, 'render': False})
    assert rebuilt.get_block_name() == 'image'           # drawn as Gradio's image widget
    for name in ('not_image', 'empty', 'bomb'):
        path = str(inputs[name])
        assert rebuilt.preprocess(ImageData(path=path)) == path      # not opened by Gradio
    with pytest.raises(gr.Error, match='does not fetch URLs'):
        rebuilt.move_resource_to_block_cache('http://127.0.0.1:9/x.png')
    assert not (REPO / 'app' / 'components.pyi').exists()


def test_failed_run_gives_one_message_and_clears_results(registry, inputs):
    """The page's segment handler returns its failure as one message and empty results."""
    demo = page.build_demo(registry)
    fn = [f for f in demo.fns.values() if getattr(f.fn, '__name__', '') == 'on_segment'][0].fn
    good = fn(str(inputs['rgb']), None, 'tiny', 0.5, viewer.MAP_DIFFER)
    assert good[0] == '' and 'ssa-viewer' in good[1] and good[3] is not None
    for name, words in (('not_image', 'not a readable image'), ('empty', 'empty'),
                        ('bomb_limit', 'megapixels')):
        out = fn(str(inputs[name]), None, 'tiny', 0.5, viewer.MAP_DIFFER)
        assert words in out[0] and 'role="alert"' in out[0]
        assert out[1] == '' and out[2] == '' and out[3] is None      # stale results cleared


@pytest.mark.parametrize('name, title', [
    ('bomb_limit', 'Image too large'),          # 8000 x 8000 from its header: over 40 MP
    ('bomb', 'Image too large'),                # 20000 x 20000: PIL's bomb guard
    ('not_image', 'Cannot read this image'), ('truncated', 'Cannot read this image'),
])
def test_image_refusals_are_titled_by_their_cause(registry, inputs, name, title):
    with pytest.raises(gr.Error) as raised:
        services.ComparisonRun(registry, str(inputs[name]))
    assert raised.value.title == title


def test_a_new_image_drops_a_label_that_came_with_the_previous_one(registry, inputs):
    """The two steps of a new image (upload or paste): ``drop_stale_label`` takes out a
    label bound to an earlier image and keeps a loose one (uploaded with no image shown);
    the run then says why the label went, and marks the label it used as bound."""
    from app.tabs.segment import drop_stale_label

    label = str(inputs['label'])
    assert drop_stale_label(label, False) == (None, True)              # bound: dropped
    kept, dropped = drop_stale_label(label, True)                       # loose: kept
    assert not dropped and kept is not None and kept != label           # gr.skip()
    assert drop_stale_label(None, False)[1] is False
    demo = page.build_demo(registry)
    fn = [f for f in demo.fns.values() if getattr(f.fn, '__name__', '') == 'on_segment'][0].fn
    out = fn(str(inputs['rgb']), None, 'tiny', 0.5, viewer.MAP_DIFFER, True)
    assert 'Label removed' in out[0] and 'previous image' in out[0]
    assert out[3].label is None and 'gt-mask' not in out[1]
    assert out[6:8] == [False, False]            # no label now; the drop is reported once
    assert 'Click a pixel' in out[8] and out[9] is None     # the inspector starts over
    with_label = fn(str(inputs['rgb']), label, 'tiny', 0.5, viewer.MAP_DIFFER)
    assert with_label[0] == '' and with_label[3].label is not None
    assert with_label[6] is False                 # the label is this image's now
    label_first = fn(None, label, 'tiny', 0.5, viewer.MAP_DIFFER)
    assert label_first[3] is None and label_first[6] is True      # waits for an image


def test_viewer_shows_ground_truth_error_map_and_filter(registry, inputs):
    run = services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label']))
    state = run.view_state()
    page = viewer.render_view(state, 0.5, viewer.MAP_ERRORS)
    for elem_id in ('baseline-mask', 'ssa-mask', 'gt-mask', 'map-view'):
        assert f'id="{elem_id}"' in page
    assert 'only SSA-Seg right' in page and 'Which model is right' in page
    assert page.count('class="ssa-index"') == 3           # hover data: both masks and GT
    breakdown = state.breakdown
    assert breakdown == stats_module().error_breakdown(*state.masks, state.label)
    share = f'{100 * breakdown["both_wrong"]:.1f}%'
    assert share in page
    differ = viewer.render_view(state, 0.5, viewer.MAP_DIFFER)
    assert 'Where the models differ' in differ
    filtered = viewer.render_view(state, 0.5, viewer.MAP_DIFFER, state.classes[3])
    assert filtered.count('ssa-legend-item') < differ.count('ssa-legend-item')
    no_label = services.ComparisonRun(registry, str(inputs['rgb'])).view_state()
    page = viewer.render_view(no_label, 0.5, viewer.MAP_ERRORS)
    assert 'gt-mask' not in page and 'needs a ground-truth label' in page


def stats_module():
    from analysis import stats
    return stats


def test_model_names_never_come_from_checkpoint_stems(pair_args, tmp_path):
    import shutil
    for role, index in (('baseline', 2), ('ssa', 5)):
        (tmp_path / role).mkdir()
        shutil.copy(pair_args[index], tmp_path / role / 'iter_160000.pth')
    spec = pair_from_paths([pair_args[1], str(tmp_path / 'baseline' / 'iter_160000.pth')],
                           [pair_args[4], str(tmp_path / 'ssa' / 'iter_160000.pth')])
    assert (spec.baseline.name, spec.ssa.name) == ('baseline_synthscenes', 'ssa_synthscenes')
    named = pair_from_paths(pair_args[1:3], pair_args[4:6], baseline_name='ocr',
                            ssa_name='ocr_ssa')
    assert (named.baseline.name, named.ssa.name, named.name) == ('ocr', 'ocr_ssa',
                                                                'ocr vs ocr_ssa')
    with pytest.raises(PairError, match='--baseline-name'):
        pair_from_paths(pair_args[1:3], [pair_args[1], pair_args[5]])


def test_models_page_states_training_and_mIoU():
    from app import views
    from ssa_seg.zoo import ZooModel, ZooPair

    demo = ZooPair('demo', ZooModel('b', 'configs/demo/baseline_synthscenes.py', 'b.pth',
                                    metrics={'val_mIoU': 68.03},
                                    extra={'data': 'python -m ssa_seg.synthscenes ...'}),
                   ZooModel('s', 'configs/demo/ssa_synthscenes.py', 's.pth',
                            metrics={'val_mIoU': 75.24}))
    text = views.models_markdown([demo], ['demo'])
    assert '68.03' in text and '75.24' in text and '(loaded)' in text
    assert 'synthetic scenes only' in text and '--baseline CONFIG CHECKPOINT' in text
    real = ZooPair('real', ZooModel('ocr', 'ocrnet.py', 'a.pth'),
                   ZooModel('ocr_ssa', 'ocrnet_ssa.py', 'b.pth'))
    text = views.models_markdown([real])
    assert 'synthetic' not in text and 'not recorded' in text


def test_analysis_runs_in_its_own_lane(registry):
    """Figures (the tab's, the set-level ones, /figures, /shift) queue in their own lane,
    one at a time, so that segmentation (the page's runs, /compare) keeps answering."""
    demo = page.build_demo(registry, model_concurrency=2)
    lanes = {}
    for fn in demo.fns.values():
        name = fn.api_name if fn.api_name in ('compare', 'figures', 'shift') else \
            getattr(fn.fn, '__name__', '')
        lanes.setdefault(name, set()).add((fn.concurrency_id, fn.concurrency_limit))
    assert lanes['compare'] == lanes['on_segment'] == {('models', 2)}
    for name in ('figures', 'shift', 'on_analyse', 'on_set_figure'):
        assert lanes[name] == {('analysis', 1)}, name


@pytest.mark.slow
def test_inspector_reuses_the_run_then_recomputes_after_the_memory_bound(registry, inputs,
                                                                         monkeypatch):
    """A run keeps its inspection; clicks read it without running a model. When the store
    drops it (the byte bound), a click runs the models once more and gets the same
    numbers; the store never holds more than its bound (one entry at least)."""
    from analysis import stats
    from app import views
    from app.state import InspectionStore

    store = InspectionStore(max_bytes=10**9)
    monkeypatch.setattr(services, 'INSPECTIONS', store)
    view = services.ComparisonRun(registry, str(inputs['rgb']), str(inputs['label'])
                                  ).view_state()
    assert len(store) == 1 and store.get(view.key) is not None     # built in the background
    calls = []
    real = stats.segment_pair
    monkeypatch.setattr(stats, 'segment_pair', lambda *a, **k: calls.append(1) or real(*a, **k))
    first = services.inspect_pixel(registry, view, 30, 60)
    assert calls == [] and first.pixel == (30, 60)
    # the label: class 3 from column 48 on, rows 0..3 ignored
    assert first.gt == view.classes[3] and services.inspect_pixel(registry, view, 2, 60).gt is None
    html = views.inspector_html(first, view.palette)
    assert 'data-row="30" data-col="60"' in html and first.sentence.split(';')[0] in html
    store.max_bytes = store.nbytes - 1
    other = services.ComparisonRun(registry, str(inputs['rgb'])).view_state()
    assert store.get(other.key) is not None
    assert len(store) == 1 and store.get(view.key) is None and store.get(other.key)
    calls.clear()
    again = services.inspect_pixel(registry, view, 30, 60)
    assert len(calls) == 1 and again == first
    with pytest.raises(gr.Error, match='outside the 64 x 96 image'):
        services.inspect_pixel(registry, view, 64, 0)
    with pytest.raises(gr.Error, match='Segment an image first'):
        services.inspect_pixel(registry, None, 0, 0)


@pytest.mark.slow
def test_inspection_is_built_by_the_run_when_builds_are_queued(registry, inputs, monkeypatch):
    """Beyond MAX_BUILDING builds in flight the segmentation builds its own inspection:
    it is in the store as soon as the view exists, and agrees with a background one."""
    from concurrent.futures import Future

    from app.state import InspectionStore

    store = InspectionStore(max_bytes=10**9)
    monkeypatch.setattr(services, 'INSPECTIONS', store)
    background = services.ComparisonRun(registry, str(inputs['rgb'])).view_state()
    monkeypatch.setattr(services, 'MAX_BUILDING', 0)
    inline = services.ComparisonRun(registry, str(inputs['rgb'])).view_state()
    assert store.building == 0 or inline.key not in [k for k, v in store._items.items()
                                                     if isinstance(v, Future)]
    a, b = store.get(background.key), store.get(inline.key)
    assert services.inspect_pixel(registry, background, 40, 50) == \
        services.inspect_pixel(registry, inline, 40, 50)
    assert a.nbytes == b.nbytes > 0
