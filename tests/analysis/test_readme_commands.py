"""Every ``python -m analysis ...`` command of README.md runs as written, on the shipped demo
models and example images; only its outputs (``--out``, ``--out-dir``, ``--json``) go to a
temporary folder and ``--data-root data/synthscenes`` to 10 generated images."""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
OUTPUT_FLAGS = ('--out', '--out-dir', '--json')


def readme_commands():
    """The ``python -m analysis`` commands of the README's bash blocks, as argument lists
    (continuation lines joined, comments dropped)."""
    text = (REPO / 'README.md').read_text()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            if line.startswith('python -m analysis '):
                commands.append(shlex.split(line, comments=True)[3:])
    return commands


COMMANDS = readme_commands()


def _id(argv):
    paths = [a for a in argv if a in ('--pair', '--baseline', '--ssa')]
    return '-'.join([argv[0], *(p.lstrip('-') for p in paths)])


def _redirect(argv, tmp_path, data_root):
    """The command with its outputs under ``tmp_path`` and the data root replaced."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg in OUTPUT_FLAGS:
            out[i + 1] = str(tmp_path / out[i + 1])
        elif arg == '--data-root':
            out[i + 1] = str(data_root)
    return out


def test_the_readme_has_every_command():
    """Each figure kind, ``all``, ``paper`` (a zoo pair and a pair by path) and ``dataset``."""
    from analysis.figures import FIGURES
    commands = {argv[0] for argv in COMMANDS}
    assert {'tsne', 'relations', 'shift', 'curves', 'all', 'paper', 'dataset'} <= commands
    assert commands <= set(FIGURES) | {'all', 'paper', 'dataset'}
    paper = [argv for argv in COMMANDS if argv[0] == 'paper']
    assert any('--baseline' in a and '--ssa' in a and '--manifest' not in a for a in paper)


@pytest.mark.parametrize('argv', COMMANDS, ids=[_id(a) for a in COMMANDS])
def test_readme_command_parses_and_names_existing_files(argv, tmp_path):
    """Fast: the flags parse and the models resolve (files exist, names by the one rule)."""
    from analysis.cli import build_parser
    from analysis.pair_args import pair_from_args
    args = build_parser().parse_args(_redirect(argv, tmp_path, tmp_path / 'data'))
    pair = pair_from_args(args)
    assert pair.ssa.name == 'synthscenes_ssa'             # the checkpoint's manifest name
    for flag in ('--image', '--label', '--image-dir', '--label-dir'):
        if flag in argv:
            assert (REPO / argv[argv.index(flag) + 1]).exists(), flag


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from ssa_seg.synthscenes import generate
    root = tmp_path_factory.mktemp('synthscenes')
    generate(root, seed=0, num_train=0, num_val=10, size=96, progress=False)
    return root


def _outputs(argv, tmp_path):
    return [tmp_path / argv[i + 1] for i, a in enumerate(argv[:-1]) if a in OUTPUT_FLAGS]


@pytest.mark.slow
@pytest.mark.parametrize('argv', COMMANDS, ids=[_id(a) for a in COMMANDS])
def test_readme_command_runs(argv, tmp_path, data_root):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    env.pop('SSA_SEG_MANIFEST', None)
    done = subprocess.run([sys.executable, '-m', 'analysis',
                           *_redirect(argv, tmp_path, data_root)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    for path in _outputs(argv, tmp_path):
        assert path.exists(), path
        if path.is_dir():
            assert any(path.iterdir()), path
        else:
            assert path.stat().st_size > 100, path
    if argv[0] == 'paper' and '--baseline' in argv:
        _check_paper_without_manifest(_outputs(argv, tmp_path)[0])


def _check_paper_without_manifest(out: Path):
    """A pair by path, no --ablation: what needs the ablation model is listed as not drawn
    with the reason, every other figure is drawn; the checkpoints are the zoo's, so their
    training logs come along (Fig. 4)."""
    drawn = ('fig1_tsne', 'fig1_shift', 'fig4_curves', 'fig7_intraclass', 'fig8_gradcam')
    for stem in drawn:
        for fmt in ('pdf', 'png'):
            assert (out / f'{stem}.{fmt}').stat().st_size > 1000, stem
    for stem in ('fig3_relations', 'fig6_offsets'):
        assert not (out / f'{stem}.png').exists()
    report = (out / 'report.html').read_text()
    assert report.count('the pair has no ablation model') == 2
    numbers = json.loads((out / 'numbers.json').read_text())
    assert set(numbers['models']) == {'baseline', 'ssa'}
    assert numbers['models']['ssa']['name'] == 'synthscenes_ssa'
    assert len(numbers['images']) == 4                  # app/examples/images
    assert numbers['fig4_curves']['final_mIoU']['ssa'] == pytest.approx(75.79, abs=0.01)
