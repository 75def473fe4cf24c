"""End to end: ``python -m analysis`` on tiny random models saved to disk (and the demo pair)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_models import tiny_config

REPO = Path(__file__).resolve().parent.parent.parent
CLASSES = [f'thing{i}' for i in range(6)]


@pytest.fixture(scope='module')
def saved_models(tmp_path_factory):
    """Config files and checkpoints of a tiny SSA-Seg model and its vanilla baseline."""
    from mmengine.config import Config

    from ssa_seg.apis import init_model
    from ssa_seg.checkpoint import save_weights
    root = tmp_path_factory.mktemp('models')
    out = {}
    meta = {'dataset_meta': {'classes': CLASSES,
                             'palette': [[40 * i, 255 - 40 * i, 128] for i in range(6)]}}
    for role, ssa in (('ssa', True), ('base', False)):
        cfg = tiny_config('SegformerHead', ssa=ssa, num_classes=len(CLASSES))
        cfg_path = root / f'{role}.py'
        Config(cfg).dump(str(cfg_path))
        torch.manual_seed(1)
        model = init_model(str(cfg_path))
        ckpt = root / f'{role}.pth'
        save_weights(model, ckpt, meta)
        out[role] = (str(cfg_path), str(ckpt))
    return out


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('images')
    (root / 'img').mkdir()
    (root / 'lab').mkdir()
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        pixels = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / 'img' / f'{name}.png')
        lab = np.zeros((40, 56), np.uint8)
        lab[:, 20:] = 2
        lab[30:] = 4
        Image.fromarray(lab).save(root / 'lab' / f'{name}.png')
    (root / 'img' / 'notes.txt').write_text('not an image, skipped by suffix')
    return root


def _models(saved_models, baseline=True):
    args = ['--ssa', *saved_models['ssa']]
    if baseline:
        args += ['--baseline', *saved_models['base']]
    return args


def _run(argv):
    from analysis.cli import main
    return main(argv)


@pytest.mark.slow
def test_cli_single_image_figures(saved_models, images, tmp_path, capsys):
    img, lab = str(images / 'img' / 'a.png'), str(images / 'lab' / 'a.png')
    assert _run(['tsne', *_models(saved_models), '--image', img, '--label', lab,
                 '--class', 'thing2', '--max-points', '150', '--out', str(tmp_path / 't.pdf')]) == 0
    assert (tmp_path / 't.pdf').read_bytes().startswith(b'%PDF')
    assert _run(['relations', *_models(saved_models, False), '--image', img, '--label', lab,
                 '--classes', 'all', '--out', str(tmp_path / 'r.svg')]) == 0
    import xml.etree.ElementTree as ET
    ET.parse(tmp_path / 'r.svg')
    assert _run(['shift', *_models(saved_models, False), '--image', img, '--label', lab,
                 '--out', str(tmp_path / 's.png'), '--json', str(tmp_path / 's.json')]) == 0
    with Image.open(tmp_path / 's.png') as im:
        assert im.format == 'PNG'
    data = json.loads((tmp_path / 's.json').read_text())
    assert [c['name'] for c in data['classes']] == ['thing0', 'thing2', 'thing4']
    for c in data['classes']:
        assert {'name', 'cos_fixed', 'cos_adapted', 'cos_center', 'num_pixels'} <= set(c)
        assert isinstance(c['num_pixels'], int) and c['num_pixels'] > 0
    assert data['source'] == 'label'
    assert _run(['tsne', *_models(saved_models), '--image', img, '--max-points', '100',
                 '--domains', 'semantic,spatial,classifier', '--iterations', '50,60',
                 '--out', str(tmp_path / 't.html')]) == 0
    assert 'Plotly.newPlot' in (tmp_path / 't.html').read_text()
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / 's.json') in printed


@pytest.mark.slow
def test_cli_same_seed_same_file(saved_models, images, tmp_path):
    img = str(images / 'img' / 'b.png')
    for name in ('x', 'y'):
        _run(['tsne', *_models(saved_models), '--image', img, '--max-points', '80', '--seed', '3',
              '--out', str(tmp_path / f'{name}.svg')])
    assert (tmp_path / 'x.svg').read_bytes() == (tmp_path / 'y.svg').read_bytes()


@pytest.mark.slow
def test_cli_batch_mode(saved_models, images, tmp_path, capsys):
    out = tmp_path / 'figs'
    assert _run(['all', *_models(saved_models), '--image-dir', str(images / 'img'),
                 '--label-dir', str(images / 'lab'), '--out-dir', str(out),
                 '--format', 'pdf,png', '--max-points', '100']) == 0
    expected = {f'{s}_{k}.{f}' for s in 'ab' for k in ('tsne', 'relations', 'shift')
                for f in ('pdf', 'png')} | {'a_shift.json', 'b_shift.json'}
    assert {p.name for p in out.iterdir()} == expected
    err = capsys.readouterr().err
    assert 'figures' in err and '2/2' in err            # tqdm progress bar
    data = json.loads((out / 'a_shift.json').read_text())
    assert data['source'] == 'label'


@pytest.mark.parametrize('case, message', [
    ('missing_image', 'Image file not found'),
    ('not_an_image', 'is not a readable image file'),
    ('unknown_class', "unknown class 'giraffe'"),
    ('bad_suffix', 'unsupported format'),
    ('missing_checkpoint', 'checkpoint not found'),
    ('unknown_relation_class', "unknown class 'nope'"),
    ('no_output', 'give --out'),
    ('missing_dir', 'image folder not found'),
    ('bad_domain', 'unknown'),
])
def test_cli_clear_errors(saved_models, images, tmp_path, case, message):
    img = str(images / 'img' / 'a.png')
    fake = tmp_path / 'fake.png'
    fake.write_text('hello')
    models = _models(saved_models, False)
    argv = {
        'missing_image': ['tsne', *models, '--image', str(tmp_path / 'nope.png'),
                          '--out', str(tmp_path / 'o.pdf')],
        'not_an_image': ['shift', *models, '--image', str(fake), '--out', str(tmp_path / 'o.pdf')],
        'unknown_class': ['tsne', *models, '--image', img, '--class', 'giraffe',
                          '--out', str(tmp_path / 'o.pdf')],
        'bad_suffix': ['tsne', *models, '--image', img, '--out', str(tmp_path / 'o.docx')],
        'missing_checkpoint': ['tsne', '--ssa', saved_models['ssa'][0],
                               str(tmp_path / 'x.pth'), '--image', img,
                               '--out', str(tmp_path / 'o.pdf')],
        'unknown_relation_class': ['relations', *models, '--image', img, '--classes', 'thing1,nope',
                                   '--out', str(tmp_path / 'o.pdf')],
        'no_output': ['relations', *models, '--image', img],
        'missing_dir': ['all', *models, '--image-dir', str(tmp_path / 'none'),
                        '--out-dir', str(tmp_path / 'o')],
        'bad_domain': ['tsne', *models, '--image', img, '--domains', 'semantic,color',
                       '--out', str(tmp_path / 'o.pdf')],
    }[case]
    with pytest.raises(SystemExit) as info:
        _run(argv)
    assert message in str(info.value)
    assert str(info.value).startswith('error:')


@pytest.mark.parametrize('case, message', [
    ('checkpoint_without_config', 'argument --ssa: expected 2 arguments'),
    ('baseline_without_ssa', '--baseline needs --ssa CONFIG CHECKPOINT too'),
    ('pair_and_paths', 'give either --pair or --ssa, not both'),
    ('name_without_model', '--baseline-name names the model of --baseline'),
    ('old_flags', 'unrecognized arguments: --config'),
    ('no_ablation_here', 'unrecognized arguments: --ablation'),
    ('no_command', 'the following arguments are required: COMMAND'),
])
def test_cli_usage_errors(saved_models, images, tmp_path, capsys, case, message):
    """Model arguments that do not go together: argparse's usage error (exit 2), before any
    model is loaded."""
    img = str(images / 'img' / 'a.png')
    out = ['--image', img, '--out', str(tmp_path / 'o.pdf')]
    argv = {
        'checkpoint_without_config': ['tsne', '--ssa', saved_models['ssa'][1], *out],
        'baseline_without_ssa': ['tsne', '--baseline', *saved_models['base'], *out],
        'pair_and_paths': ['shift', '--pair', 'demo', *_models(saved_models, False), *out],
        'name_without_model': ['tsne', *_models(saved_models, False), '--baseline-name', 'b',
                               *out],
        'old_flags': ['tsne', '--config', saved_models['ssa'][0], *out],
        'no_ablation_here': ['shift', *_models(saved_models, False), '--ablation',
                             *saved_models['ssa'], *out],
        'no_command': [],
    }[case]
    with pytest.raises(SystemExit) as info:
        _run(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and 'usage: python -m analysis' in err


@pytest.mark.slow
def test_python_dash_m_entry_point(saved_models, images, tmp_path):
    out = tmp_path / 'shift.json'
    proc = subprocess.run(
        [sys.executable, '-m', 'analysis', 'shift', *_models(saved_models, False),
         '--image', str(images / 'img' / 'a.png'), '--json', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())['source'] == 'prediction'
    bad = subprocess.run([sys.executable, '-m', 'analysis', 'shift', *_models(saved_models, False),
                          '--image', str(tmp_path / 'missing.png'), '--json', str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and 'Image file not found' in bad.stderr
    assert 'Traceback' not in bad.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / 'checkpoints' / 'manifest.yaml').is_file(),
                    reason='demo checkpoints not shipped yet')
def test_cli_demo_pair_defaults(tmp_path):
    """No --config: the manifest's default pair, baseline beside SSA-Seg."""
    examples = REPO / 'app' / 'examples'
    image = sorted((examples / 'images').glob('*.png'))[0]
    label = examples / 'labels' / image.name
    out = tmp_path / 'demo'
    proc = subprocess.run(
        [sys.executable, '-m', 'analysis', 'all', '--image', str(image), '--label', str(label),
         '--out-dir', str(out), '--format', 'pdf,svg'],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / f'{image.stem}_shift.json').read_text())
    assert data['classes'] and data['source'] == 'label'
    assert (out / f'{image.stem}_tsne.pdf').read_bytes().startswith(b'%PDF')


@pytest.mark.slow
def test_paper_on_a_pair_given_by_path(saved_models, images, tmp_path, capsys, monkeypatch):
    """No manifest at all: the set-level figures from the two models and labelled images; what
    needs an ablation model or training logs is listed as not drawn, with the reason."""
    monkeypatch.setenv('SSA_SEG_MANIFEST', str(tmp_path / 'no_manifest.yaml'))
    out = tmp_path / 'paper'
    assert _run(['paper', '--baseline', *saved_models['base'], '--ssa', *saved_models['ssa'],
                 '--image-dir', str(images / 'img'), '--label-dir', str(images / 'lab'),
                 '--out', str(out)]) == 0
    for stem in ('fig1_tsne', 'fig1_shift', 'fig7_intraclass', 'fig8_gradcam'):
        for fmt in ('pdf', 'png'):
            assert (out / f'{stem}.{fmt}').stat().st_size > 1000, stem
    assert not any((out / f'{s}.png').exists()
                   for s in ('fig3_relations', 'fig4_curves', 'fig6_offsets'))
    report = (out / 'report.html').read_text()
    assert report.count('the pair has no ablation model') == 2
    assert 'the curves figure needs training logs' in report
    numbers = json.loads((out / 'numbers.json').read_text())
    assert numbers['pair'] == 'base vs ssa'
    assert {r: m['name'] for r, m in numbers['models'].items()} == {'baseline': 'base',
                                                                     'ssa': 'ssa'}
    assert numbers['images'] == [str(images / 'img' / f'{n}.png') for n in 'ab']
    assert sorted(capsys.readouterr().out.split()) == [str(out / 'numbers.json'),
                                                       str(out / 'report.html')]


def _pdf_width_inches(path):
    import re
    box = re.search(rb'/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]', Path(path).read_bytes())
    return float(box.group(1)) / 72


def test_cli_column_sets_the_paper_width(saved_models, images, tmp_path):
    """--column one/two: the saved PDF is one column (3.4 in) or two (7 in) wide at most
    (saving trims the figure's empty margin: a few hundredths of an inch)."""
    img, lab = str(images / 'img' / 'a.png'), str(images / 'lab' / 'a.png')
    widths = {}
    for column in ('one', 'two'):
        out = tmp_path / f's_{column}.pdf'
        assert _run(['shift', *_models(saved_models, False), '--image', img, '--label', lab,
                     '--column', column, '--out', str(out)]) == 0
        widths[column] = _pdf_width_inches(out)
    assert 3.2 < widths['one'] <= 3.4 + 0.01
    assert 6.8 < widths['two'] <= 7.0 + 0.01
    with pytest.raises(SystemExit):
        _run(['shift', *_models(saved_models, False), '--image', img, '--column', 'three',
              '--out', str(tmp_path / 'x.pdf')])
