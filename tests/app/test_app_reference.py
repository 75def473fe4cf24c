"""The app with reference-sized models: progress while a model runs, and a 150-class legend
that shows only the classes present (in process, tiny models with ADE20K's 150 classes)."""
from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from app_inputs import REPO
from mmengine.config import Config
from PIL import Image
from tiny_models import tiny_config

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
gr = pytest.importorskip('gradio')

from app import page, services  # noqa: E402
from app.pairs import PairRegistry, pair_from_paths  # noqa: E402
from app.viewer import MAP_DIFFER  # noqa: E402
from ssa_seg.apis import init_model  # noqa: E402
from ssa_seg.checkpoint import save_weights  # noqa: E402


@pytest.fixture(scope='module')
def ade_registry(tmp_path_factory):
    """A random tiny pair predicting ADE20K's 150 classes (classes from the dataset type)."""
    folder = tmp_path_factory.mktemp('ade_pair')
    paths = {}
    for role, ssa in (('baseline', False), ('ssa', True)):
        cfg = tiny_config('SegformerHead', ssa=ssa, num_classes=150)
        cfg['test_dataloader']['dataset']['type'] = 'ADE20KDataset'
        config = folder / f'{role}.py'
        Config(cfg).dump(str(config))
        torch.manual_seed(0)
        checkpoint = folder / f'{role}.pth'
        save_weights(init_model(str(config)), checkpoint)
        paths[role] = [str(config), str(checkpoint)]
    return PairRegistry([pair_from_paths(paths['baseline'], paths['ssa'], name='ade')])


@pytest.fixture(scope='module')
def image_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp('img') / 'noise.png'
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return str(path)


class Recorder:
    """Stands in for gr.Progress: keeps (fraction, desc) of every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None, **kwargs):
        self.calls.append((fraction, desc))


def _event_fn(demo, name):
    fns = {f.fn for f in demo.fns.values() if getattr(f.fn, '__name__', '') == name}
    assert len(fns) == 1, name          # one handler (bound to several triggers)
    return fns.pop()


def test_page_handlers_report_progress(ade_registry):
    demo = page.build_demo(ade_registry)
    handlers = {f.fn for f in demo.fns.values() if f.fn is not None}
    with_progress = [fn for fn in handlers if any(
        isinstance(p.default, gr.Progress) for p in inspect.signature(fn).parameters.values())]
    names = sorted(fn.__name__ for fn in with_progress)
    assert names == ['on_analyse', 'on_segment']


def test_segment_progress_and_150_class_legend(ade_registry, image_path):
    demo = page.build_demo(ade_registry)
    recorder = Recorder()
    outputs = _event_fn(demo, 'on_segment')(image_path, None, 'ade', 0.5, MAP_DIFFER,
                                            progress=recorder)
    descs = [d for _, d in recorder.calls]
    assert descs[0] == 'Loading the model pair'
    assert any('(baseline)' in d for d in descs) and any('(SSA-Seg)' in d for d in descs)
    fractions = [f for f, _ in recorder.calls]
    assert fractions == sorted(fractions) and fractions[-1] < 1
    viewer, state = outputs[1], outputs[3]
    present = set(np.unique(np.concatenate([m.ravel() for m in state.masks])).tolist())
    assert 0 < len(present) < 150
    legend = viewer[viewer.index('<div class="ssa-legend">'):]
    legend = legend[:legend.index('</div>')]
    names = re.findall(r'</span>([^<]*)</span>', legend)
    classes = ade_registry.get('ade').classes
    assert len(classes) == 150 and classes[:2] == ['wall', 'building']
    assert sorted(names) == sorted(classes[k] for k in present)


@pytest.mark.slow
def test_analysis_progress(ade_registry, image_path):
    run = services.ComparisonRun(ade_registry, image_path, pair_name='ade')
    recorder = Recorder()
    *figures, data = services.analysis_figures(ade_registry, run.view_state(), None,
                                         progress=recorder)
    descs = [d for _, d in recorder.calls]
    assert descs[0].startswith('Features') and any(d.startswith('Figure') for d in descs)
    assert len(figures) == len(data)


# --------------------------------------------------------------------------- README commands

SEAFORMER_V0 = REPO / 'tests' / 'configs_v0' / 'seaformer'
SEAFORMER = 'seaformer_large_512x512_160k_4x4_ade20k'


@pytest.fixture(scope='module')
def seaformer_checkpoints(tmp_path_factory):
    """Reference-format SeaFormer-L checkpoints (the fixtures' weights), as the README's
    commands take them: (baseline config, checkpoint, SSA config, checkpoint)."""
    from reference_fixtures import make_checkpoint

    folder = tmp_path_factory.mktemp('seaformer')
    out = []
    for name in (SEAFORMER, SEAFORMER + '_ssa'):
        torch.save(make_checkpoint(name), folder / f'{name}.pth')
        out += [str(SEAFORMER_V0 / f'{name}.py'), str(folder / f'{name}.pth')]
    return out


@pytest.mark.slow
def test_readme_app_command_with_reference_config_and_checkpoint(seaformer_checkpoints,
                                                                 image_path, tmp_path):
    from app_inputs import AppServer
    from gradio_client import Client, handle_file

    base_cfg, base_ckpt, ssa_cfg, ssa_ckpt = seaformer_checkpoints
    args = ['--baseline', base_cfg, base_ckpt, '--ssa', ssa_cfg, ssa_ckpt, '--name', 'sea']
    with AppServer(args, tmp_path / 'app.log') as server:
        base, ssa, disagreement, stats, *masks = Client(server.url, verbose=False).predict(
            handle_file(image_path), api_name='/compare')
    assert all(Path(p).is_file() for p in (base, ssa, disagreement, *masks)) and len(masks) == 2
    assert stats['pair'] == 'sea' and len(stats['classes']) == 150
    assert stats['classes'][:2] == ['wall', 'building']


@pytest.mark.slow
def test_readme_analysis_command_with_reference_config_and_checkpoint(seaformer_checkpoints,
                                                                      image_path, tmp_path):
    import subprocess
    import sys

    base_cfg, base_ckpt, ssa_cfg, ssa_ckpt = seaformer_checkpoints
    out = tmp_path / 'figs'
    subprocess.run([sys.executable, '-m', 'analysis', 'all', '--ssa', ssa_cfg, ssa_ckpt,
                    '--baseline', base_cfg, base_ckpt, '--image', image_path,
                    '--out-dir', str(out), '--format', 'png'],
                   check=True, cwd=REPO, capture_output=True)
    assert {p.name for p in out.iterdir()} >= {'noise_tsne.png', 'noise_relations.png',
                                                'noise_shift.png'}
