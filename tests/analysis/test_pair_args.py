"""The one way every command names its models (analysis.pair_args): combinations, names,
errors; on files that only need to exist (no model is built here)."""
import argparse
from pathlib import Path

import pytest

from analysis.pair_args import PairArgumentError, add_pair_arguments, pair_from_args, parse_pair

REPO = Path(__file__).resolve().parent.parent.parent
DEMO_SSA = [str(REPO / 'ssa_seg/configs/demo/ssa_synthscenes.py'),
            str(REPO / 'checkpoints/synthscenes_ssa.pth')]


@pytest.fixture
def files(tmp_path):
    """Config and checkpoint files named like a user's own: base.py, ssa.py, nodistill.py."""
    out = {}
    for stem in ('base', 'ssa', 'nodistill'):
        (tmp_path / f'{stem}.py').write_text('# a config\n')
        (tmp_path / f'{stem}.pth').write_bytes(b'weights')
        out[stem] = [str(tmp_path / f'{stem}.py'), str(tmp_path / f'{stem}.pth')]
    manifest = tmp_path / 'checkpoints' / 'manifest.yaml'
    manifest.parent.mkdir()
    manifest.write_text(
        'models:\n'
        f'- {{name: zoo_base, config: {out["base"][0]}, checkpoint: {out["base"][1]}, '
        'classes: [a], palette: [[0, 0, 0]], val_mIoU: 50.0}\n'
        f'- {{name: zoo_ssa, config: {out["ssa"][0]}, checkpoint: {out["ssa"][1]}, '
        'classes: [a], palette: [[0, 0, 0]]}\n'
        'pairs:\n- {name: zoo, baseline: zoo_base, ssa: zoo_ssa}\n')
    out['manifest'] = str(manifest)
    out['empty_manifest'] = str(tmp_path / 'none.yaml')
    return out


def _parser(need=('baseline', 'ssa'), optional=()):
    parser = argparse.ArgumentParser(prog='cmd')
    add_pair_arguments(parser, need=need, optional=optional)
    return parser


def _pair(argv, need=('baseline', 'ssa'), optional=()):
    parser = _parser(need, optional)
    return parse_pair(parser, parser.parse_args(argv))


def test_paths_name_models_by_config_stem(files, monkeypatch):
    monkeypatch.setenv('SSA_SEG_MANIFEST', files['empty_manifest'])      # no zoo to match
    pair = _pair(['--baseline', *files['base'], '--ssa', *files['ssa']])
    assert (pair.name, pair.baseline.name, pair.ssa.name) == ('base vs ssa', 'base', 'ssa')
    assert pair.ablation is None
    assert pair.ssa.config == files['ssa'][0] and pair.ssa.checkpoint == files['ssa'][1]
    named = _pair(['--baseline', *files['base'], '--ssa', *files['ssa'],
                   '--baseline-name', 'ocrnet', '--ssa-name', 'ocrnet_ssa'])
    assert (named.baseline.name, named.ssa.name) == ('ocrnet', 'ocrnet_ssa')


def test_paths_take_the_manifest_name_of_their_checkpoint(files):
    pair = _pair(['--manifest', files['manifest'], '--baseline', *files['base'],
                  '--ssa', *files['ssa']])
    assert (pair.baseline.name, pair.ssa.name) == ('zoo_base', 'zoo_ssa')
    assert pair.baseline.metrics == {'val_mIoU': 50.0}


def test_the_shipped_demo_checkpoint_is_named_as_in_the_shipped_manifest(monkeypatch):
    monkeypatch.delenv('SSA_SEG_MANIFEST', raising=False)
    pair = _pair(['--ssa', *DEMO_SSA], need=('ssa',), optional=('baseline',))
    assert pair.ssa.name == 'synthscenes_ssa' and pair.baseline is None
    assert pair.ssa.extra['val_curve'] == 'checkpoints/logs/synthscenes_ssa/val_curve.json'


def test_one_model_where_a_command_needs_one(files, monkeypatch):
    monkeypatch.setenv('SSA_SEG_MANIFEST', files['empty_manifest'])
    pair = _pair(['--ssa', *files['ssa']], need=('ssa',), optional=('baseline',))
    assert pair.baseline is None and pair.ssa.name == 'ssa' and pair.name == 'ssa'


def test_ablation_model(files, monkeypatch):
    monkeypatch.setenv('SSA_SEG_MANIFEST', files['empty_manifest'])
    argv = ['--baseline', *files['base'], '--ssa', *files['ssa'], '--ablation', *files['nodistill']]
    pair = _pair(argv, optional=('ablation',))
    assert pair.ablation.name == 'nodistill' and pair.name == 'base vs ssa'
    same = ['--baseline', *files['base'], '--ssa', *files['ssa'],
            '--ablation', files['ssa'][0], files['nodistill'][1]]       # the SSA config again
    parser = _parser(optional=('ablation',))
    with pytest.raises(PairArgumentError, match="--ssa and --ablation are both called 'ssa'"):
        pair_from_args(parser.parse_args(same))
    renamed = _pair(same + ['--ablation-name', 'ssa_nodistill'], optional=('ablation',))
    assert renamed.ablation.name == 'ssa_nodistill'


def test_zoo_pair_by_name_and_default(files):
    assert _pair(['--manifest', files['manifest']]).name == 'zoo'
    pair = _pair(['--manifest', files['manifest'], '--pair', 'zoo'])
    assert (pair.baseline.name, pair.ssa.name) == ('zoo_base', 'zoo_ssa')


@pytest.mark.parametrize('case, message', [
    ('baseline_alone', '--baseline needs --ssa CONFIG CHECKPOINT too (--baseline and --ssa go '
                       'together)'),
    ('pair_and_paths', 'give either --pair or --baseline --ssa, not both'),
    ('name_without_path', '--ssa-name names the model of --ssa CONFIG CHECKPOINT'),
    ('one_path', 'argument --ssa: expected 2 arguments'),
    ('not_taken', 'unrecognized arguments: --ablation'),
])
def test_wrong_combinations_are_usage_errors(files, capsys, case, message):
    argv = {
        'baseline_alone': ['--baseline', *files['base']],
        'pair_and_paths': ['--pair', 'zoo', '--baseline', *files['base'], '--ssa', *files['ssa']],
        'name_without_path': ['--manifest', files['manifest'], '--ssa-name', 'x'],
        'one_path': ['--ssa', files['ssa'][0]],
        'not_taken': ['--baseline', *files['base'], '--ssa', *files['ssa'], '--ablation',
                      *files['nodistill']],
    }[case]
    with pytest.raises(SystemExit) as info:
        _pair(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: cmd') and f'cmd: error: {message}' in err


@pytest.mark.parametrize('case, message', [
    ('missing_checkpoint', '--ssa: checkpoint not found: '),
    ('missing_config', '--baseline: config not found: '),
    ('unknown_pair', "no pair named 'nope'"),
    ('no_manifest', 'the model zoo cannot be used: manifest not found'),
    ('same_names', "both models are called 'ssa'"),
])
def test_missing_files_are_errors(files, tmp_path, case, message):
    missing = str(tmp_path / 'missing.pth')
    argv = {
        'missing_checkpoint': ['--baseline', *files['base'], '--ssa', files['ssa'][0], missing],
        'missing_config': ['--baseline', missing, files['base'][1], '--ssa', *files['ssa']],
        'unknown_pair': ['--manifest', files['manifest'], '--pair', 'nope'],
        'no_manifest': ['--manifest', files['empty_manifest']],
        'same_names': ['--baseline', files['ssa'][0], files['base'][1], '--ssa', *files['ssa']],
    }[case]
    with pytest.raises(SystemExit) as info:
        _pair(argv)
    assert str(info.value).startswith('error: ') and message in str(info.value)


def test_a_namespace_without_the_flags_of_other_roles():
    """The app builds its namespace by hand in tests: missing flags count as not given."""
    args = argparse.Namespace(baseline=['a', 'b'], ssa=None, manifest=None, pair=None)
    with pytest.raises(PairArgumentError, match='go together'):
        pair_from_args(args)
