"""The zoo's released-models table and ``python -m ssa_seg.zoo add`` (tiny models, temp
manifests; one test with a reference fixture checkpoint and a 0.x config)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from tiny_models import tiny_config

from ssa_seg import zoo
from ssa_seg.apis import init_model
from ssa_seg.checkpoint import save_weights
from ssa_seg.zoo.add import AddError, add_model
from ssa_seg.zoo.released import markdown_table, match_config, released_models

REPO = Path(__file__).resolve().parents[2]
CLASSES = ['sky', 'wall', 'floor', 'road', 'car']
PALETTE = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120], [130, 140, 150]]


# --------------------------------------------------------------------------- released table

def test_released_table_lists_every_readme_row():
    models = released_models()
    assert len(models) == 29                      # 11 ADE20K, 9 COCO-Stuff-10K, 9 PASCAL-Context
    assert sum(m.dataset == 'ADE20K' for m in models.values()) == 11
    seaformer = models['seaformer-l_ade20k_ssa']
    assert (seaformer.mIoU, seaformer.latency_ms) == (45.36, 29.9)
    assert seaformer.project_config.endswith('seaformer_large_512x512_160k_4x4_ade20k_ssa.py')
    for model in models.values():
        assert model.reference_config.endswith('_ssa.py')
        assert model.reference_baseline == model.reference_config.replace('_ssa.py', '.py')
        for path in (model.project_config, model.project_baseline):
            assert path is None or (REPO / path).is_file(), path
        if model.fixture:
            assert (REPO / 'tests' / 'fixtures' / 'reference' / f'{model.fixture}.meta.json'
                    ).is_file()
    vit_adapter = models['vit-adapter-l_ade20k_ssa']
    assert vit_adapter.opens and vit_adapter.fixture == Path(vit_adapter.reference_config).stem


def test_match_config_by_file_name():
    model, role = match_config('anywhere/segnext_tiny_512x512_160k_4x4_ade20k.py')
    assert (model.name, role) == ('segnext-t_ade20k_ssa', 'baseline')
    assert match_config('x/cgrseg-b_ade20k_160k_ssa.py')[1] == 'ssa'
    assert match_config('mine.py') is None


def test_docs_zoo_holds_the_generated_table():
    assert markdown_table() in (REPO / 'docs' / 'zoo.md').read_text()


def test_list_command(capsys, tmp_path):
    assert zoo.main(['list', '--manifest', str(tmp_path / 'none.yaml')]) == 0
    out = capsys.readouterr().out
    assert 'seaformer-l_ade20k_ssa' in out and '45.36' in out and 'no manifest' in out
    assert zoo.main(['list', '--markdown']) == 0
    assert capsys.readouterr().out == markdown_table()


def test_python_m_ssa_seg_zoo_runs_the_package_main(tmp_path):
    """``python -m ssa_seg.zoo`` (the package's ``__main__``) as a user types it."""
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get('PYTHONPATH', '')]))
    run = subprocess.run([sys.executable, '-m', 'ssa_seg.zoo', 'list', '--markdown'],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert (run.returncode, run.stdout) == (0, markdown_table()), run.stderr
    run = subprocess.run([sys.executable, '-m', 'ssa_seg.zoo', 'add', 'x', '--config', 'no.py',
                          '--checkpoint', 'no.pth', '--manifest', str(tmp_path / 'm.yaml')],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and 'error: config not found: no.py' in run.stderr, run.stderr
    assert not (tmp_path / 'm.yaml').exists()


# --------------------------------------------------------------------------- add

@pytest.fixture(scope='module')
def tiny_files(tmp_path_factory):
    """Configs and checkpoints of a tiny baseline and SSA model (classes in the meta)."""
    folder = tmp_path_factory.mktemp('tiny_zoo')
    files = {}
    for role, ssa in (('baseline', False), ('ssa', True)):
        config = folder / f'tiny_{role}.py'
        Config(tiny_config('SegformerHead', ssa=ssa)).dump(str(config))
        torch.manual_seed(0)
        model = init_model(str(config))
        checkpoint = folder / f'tiny_{role}.pth'
        save_weights(model, checkpoint,
                     meta=dict(dataset_meta=dict(classes=CLASSES, palette=PALETTE)))
        files[role] = (str(config), str(checkpoint))
    return files


def test_add_records_a_pair_the_app_shows(tiny_files, tmp_path):
    from app import cli

    manifest = tmp_path / 'repo' / 'checkpoints' / 'manifest.yaml'
    base = add_model('tiny_base', *tiny_files['baseline'], manifest=manifest)
    assert base['classes'] == CLASSES and base['palette'] == PALETTE
    assert base['config'] == str(Path(tiny_files['baseline'][0]).resolve())   # outside: absolute
    ssa = add_model('tiny_ssa', *tiny_files['ssa'], pair_with='tiny_base', manifest=manifest)
    assert ssa['name'] == 'tiny_ssa'
    loaded = zoo.load_zoo(manifest)
    pair = loaded.pair()
    assert (pair.name, pair.baseline.name, pair.ssa.name) == (
        'tiny_base vs tiny_ssa', 'tiny_base', 'tiny_ssa')
    assert pair.ssa.classes == tuple(CLASSES)
    specs, _ = cli.collect_pairs(cli.build_parser().parse_args(['--manifest', str(manifest)]))
    assert [s.name for s in specs] == ['tiny_base vs tiny_ssa']


def test_add_keeps_entries_and_stores_paths_inside_the_repo_relative(tiny_files, tmp_path):
    repo = tmp_path / 'repo'
    (repo / 'models').mkdir(parents=True)
    config = repo / 'models' / 'ssa.py'
    config.write_text(Path(tiny_files['ssa'][0]).read_text())
    checkpoint = repo / 'models' / 'ssa.pth'
    checkpoint.write_bytes(Path(tiny_files['ssa'][1]).read_bytes())
    manifest = repo / 'checkpoints' / 'manifest.yaml'
    manifest.parent.mkdir()
    manifest.write_text(
        '# my zoo\n'
        'models:\n'
        f'  - {{name: old, config: {tiny_files["baseline"][0]}, '
        f'checkpoint: {tiny_files["baseline"][1]},\n'
        f'     classes: {CLASSES}, palette: {PALETTE}, val_mIoU: 12.5}}\n')
    entry = add_model('new', config, checkpoint, pair_with='old', manifest=manifest,
                      pair_name='mine')
    assert (entry['config'], entry['checkpoint']) == ('models/ssa.py', 'models/ssa.pth')
    text = manifest.read_text()
    assert text.startswith('# my zoo\n')
    loaded = zoo.load_zoo(manifest)
    assert list(loaded.models) == ['old', 'new']
    assert loaded.models['old'].metrics == {'val_mIoU': 12.5}
    assert loaded.models['new'].checkpoint == str(checkpoint.resolve())
    assert loaded.pair('mine').ssa.name == 'new'
    assert not [p for p in manifest.parent.iterdir() if p.name != 'manifest.yaml']  # no temps


def test_add_refuses_and_leaves_the_manifest_untouched(tiny_files, tmp_path, capsys):
    manifest = tmp_path / 'zoo' / 'manifest.yaml'
    add_model('base', *tiny_files['baseline'], manifest=manifest)
    before = manifest.read_bytes()
    cases = [
        (dict(name='base', config=tiny_files['ssa'][0], checkpoint=tiny_files['ssa'][1]),
         'already in'),
        (dict(name='x', config=tiny_files['baseline'][0], checkpoint=tiny_files['ssa'][1]),
         'does not load strictly'),
        (dict(name='x', config=tiny_files['ssa'][0], checkpoint=tiny_files['ssa'][1],
              pair_with='nobody'), 'no such model'),
        (dict(name='x', config=tiny_files['ssa'][0], checkpoint=tiny_files['ssa'][1],
              pair_with='base', role='baseline'), 'has an SSA-Seg classifier'),
        (dict(name='x', config=str(tmp_path / 'missing.py'), checkpoint=tiny_files['ssa'][1]),
         'config not found'),
    ]
    for kwargs, message in cases:
        with pytest.raises(AddError, match=message):
            add_model(manifest=manifest, **kwargs)
        assert manifest.read_bytes() == before
    # the command line says the same, with exit status 2
    assert zoo.main(['add', 'base', '--config', tiny_files['ssa'][0], '--checkpoint',
                     tiny_files['ssa'][1], '--manifest', str(manifest)]) == 2
    assert 'already in' in capsys.readouterr().err
    assert manifest.read_bytes() == before


def test_add_takes_classes_from_the_dataset_type_without_meta(tmp_path):
    cfg = tiny_config('SegformerHead', ssa=True, num_classes=150)
    cfg['test_dataloader']['dataset']['type'] = 'ADE20KDataset'
    config = tmp_path / 'ade.py'
    Config(cfg).dump(str(config))
    model = init_model(str(config))
    checkpoint = tmp_path / 'ade.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)      # no meta at all
    entry = add_model('ade', config, checkpoint, manifest=tmp_path / 'c' / 'manifest.yaml')
    assert len(entry['classes']) == 150 and entry['classes'][:3] == ['wall', 'building', 'sky']


def test_add_reference_fixture_checkpoint_with_a_v0_config(tmp_path):
    """A reference (mmseg 0.x) config and a checkpoint as the reference code saves it (0.x
    ``CLASSES``/``PALETTE`` meta, training-only loss buffer): 150 ADE20K classes recorded."""
    from reference_fixtures import make_checkpoint

    start = time.perf_counter()
    checkpoint = tmp_path / 'afformer_ssa.pth'
    torch.save(make_checkpoint('afformer_base_ade20k_ssa'), checkpoint)
    config = REPO / 'tests' / 'configs_v0' / 'afformer' / 'afformer_base_ade20k_ssa.py'
    manifest = tmp_path / 'checkpoints' / 'manifest.yaml'
    entry = add_model('afformer-b_ade20k_ssa', config, checkpoint, manifest=manifest)
    assert len(entry['classes']) == 150 and len(entry['palette']) == 150
    assert entry['classes'][:3] == ['wall', 'building', 'sky']
    assert entry['reported_mIoU'] == 42.74          # the released model of this config
    assert entry['reference_config'] == 'configs/afformer/afformer_base_ade20k_ssa.py'
    assert zoo.load_zoo(manifest).model('afformer-b_ade20k_ssa').metrics == {
        'reported_mIoU': 42.74}
    assert time.perf_counter() - start < 10


def test_a_pair_whose_files_moved_is_named(tmp_path):
    present = tmp_path / 'cfg.py'
    present.write_text('')
    baseline = zoo.ZooModel('b', str(present), str(present))
    ssa = zoo.ZooModel('s', str(present), str(tmp_path / 'gone.pth'))
    pair = zoo.ZooPair('p', baseline, ssa)
    with pytest.raises(zoo.ManifestError, match=r"zoo model 's': checkpoint not found: .*gone"):
        pair.check_files()
    whole = zoo.ZooPair('q', baseline, baseline)
    assert whole.check_files() is whole
