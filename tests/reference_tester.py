"""The tests every model family shares against the reference fixtures (``reference_fixtures``).

:class:`ReferenceFamilyTester` holds four tests, run for each fixture or config a subclass
names: the fixture's checkpoint loads strictly and the logits match the reference's; the
model's state dict is the reference checkpoint's (keys, shapes, dtypes, integer buffers,
parameter count); a non-square input at another seed gives finite, varied logits; every
config trains one step. A family's test file subclasses it and adds only its quirks.

A new family (say ViT-Adapter), in ``tests/ssa_seg/test_reference_vit_adapter.py``::

    from reference_tester import ReferenceFamilyTester
    from ssa_seg.zoo import REPO_ROOT

    class TestViTAdapter(ReferenceFamilyTester):       # the name starts with Test: collected
        configs = REPO_ROOT / 'ssa_seg' / 'configs' / 'vit_adapter'
        fixtures = ['upernet_vit-adapter_..._ade20k', 'upernet_vit-adapter_..._ade20k_ssa']
        train_configs = ['upernet_vit-adapter_..._ade20k', ...]   # config file stems
        head_types = {'upernet_vit-adapter_..._ade20k': 'UPerHead', ...}   # optional

        def check_gradients(self, config, model):      # optional quirks, see the hooks below
            assert model.backbone.level_embed.grad.abs().sum() > 0

Names are fixture names (``tests/fixtures/reference/NAME.*``) and config file stems in
``configs`` (override :meth:`config_path` when they differ, as the families file does). A name
ending in ``_ssa`` is an SSA-Seg model: it trains the eight SSA losses and its reference
checkpoint holds one training-only key more than the model, the loss's ``empty_weight``.
Hooks (each a no-op or a default here): :meth:`build`, :meth:`check_state_dict`,
:meth:`watch_non_square`, :meth:`build_for_training`, :meth:`num_classes`, :meth:`expected_losses`,
:meth:`after_training_step`, :meth:`check_gradients`. A test a family cannot run is set to
``None`` in its class (pytest then does not collect it), with a comment saying why.
All four are slow (reference-size models, seconds each on 2 CPU cores): CI runs them with
``-m ''``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import pytest
import torch
from batches import random_batch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from reference_fixtures import (
    FIXTURE_DIR,
    assert_matches_fixture,
    fixture_keys,
    fixture_meta,
    load_fixture_checkpoint,
    reference_logits,
)

from ssa_seg.apis import init_model, load_config
from ssa_seg.checkpoint import training_only_keys
from ssa_seg.classifier import LOSS_WEIGHTS

NUM_CLASSES = 150                          # every fixture is an ADE20K model
NON_SQUARE = (224, 288)                    # H x W: rows and columns differ at every stage
SSA_LOSS_BUFFER = 'ssa_loss.criterion.empty_weight'


def shared_groups(name: str) -> List[List[str]]:
    """Groups of checkpoint keys that are one tensor in the reference model."""
    return json.loads((FIXTURE_DIR / f'{name}.shared.json').read_text()).get('groups', [])


def int_buffers(name: str) -> Dict[str, torch.Tensor]:
    """The reference model's integer buffers (index tables), value for value."""
    path = FIXTURE_DIR / f'{name}.int_buffers.pt'
    return torch.load(path, weights_only=True) if path.exists() else {}


def is_ssa(name: str) -> bool:
    return Path(name).stem.endswith('_ssa')


class ReferenceFamilyTester:
    """The shared tests of one family; subclass as ``Test<Family>`` and set the attributes."""

    pytestmark = [pytest.mark.slow]

    configs: Path                          # the folder of the family's config files
    fixtures: Sequence[str] = ()           # fixture names, each with a config of its name
    train_configs: Sequence[str] = ()      # config stems trained one step
    cfg_options: Optional[dict] = None     # applied to every model built for the fixtures
    head_types: Dict[str, str] = {}        # fixture name -> class name of decode_head
    backbone_type: Optional[str] = None    # class name of the backbone, if checked
    train_size: Tuple[int, int] = (64, 64)  # the training batch's H x W
    batch_options: dict = {}               # more random_batch arguments (e.g. ``ignore``)

    def pytest_generate_tests(self, metafunc):
        """Parametrise the tests with this class's fixtures and configs."""
        for argument, values in (('fixture_name', self.fixtures),
                                 ('train_config', self.train_configs)):
            if argument in metafunc.fixturenames:
                metafunc.parametrize(argument, list(values))

    # ------------------------------------------------------------------ hooks

    def config_path(self, name: str) -> Path:
        return self.configs / f'{name}.py'

    def head_prefix(self, name: str) -> str:
        """The state-dict prefix of the head that holds the SSA classifier."""
        return 'decode_head.'

    def reference_only_keys(self, name: str) -> List[str]:
        """The reference checkpoint's keys the model lacks (``load_weights`` ignores them)."""
        return [self.head_prefix(name) + SSA_LOSS_BUFFER] if is_ssa(name) else []

    def build(self, name: str):
        """The model of fixture ``name``'s config, unloaded, in eval mode."""
        return init_model(self.config_path(name), cfg_options=self.cfg_options)

    def load(self, name: str, tmp_path: Path, seed: Optional[int] = None):
        """:meth:`build`, then the fixture's checkpoint at ``seed`` loaded strictly, in eval."""
        model = self.build(name)
        meta = load_fixture_checkpoint(model, name, tmp_path, seed)
        assert meta.get('ignored_keys', []) == self.reference_only_keys(name)
        assert meta['CLASSES'][0] == 'wall'                 # ADE20K's, from the 0.x meta
        return model

    def check_state_dict(self, name: str, model, reference_keys: List[str]) -> None:
        """Family-specific checks of the built model against the reference keys (in order)."""

    def watch_non_square(self, name: str, model) -> Callable[[], None]:
        """Probe the model before its non-square forward; returns the check run after it."""
        return lambda: None

    def build_for_training(self, config: str) -> Tuple[Config, torch.nn.Module]:
        """(config, model in train mode): SyncBN as BN (one CPU process), and the
        preprocessor padding to the batch's own size instead of the 512 x 512 crop."""
        init_default_scope('mmseg')
        cfg = load_config(self.config_path(config),
                          {'model.data_preprocessor.size': self.train_size})
        torch.manual_seed(0)
        return cfg, revert_sync_batchnorm(MODELS.build(cfg.model)).train()

    def num_classes(self, config: str) -> int:
        """The classes of ``config``'s dataset (the training labels are drawn below it)."""
        return NUM_CLASSES

    def expected_losses(self, config: str, cfg: Config) -> Set[str]:
        """Loss names the training step must log (at least)."""
        return {'decode.' + k for k in (LOSS_WEIGHTS if is_ssa(config) else ['loss_ce'])}

    def after_training_step(self, config: str, cfg: Config, model, total: torch.Tensor) -> None:
        """What is done with the total loss: backward, then the gradients checked."""
        total.backward()
        assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
        self.check_gradients(config, model)

    def check_gradients(self, config: str, model) -> None:
        """Family-specific parameters that must have received a gradient."""

    # ------------------------------------------------------------------ the shared tests

    def test_state_dict_keys_are_the_reference_keys(self, fixture_name):
        name = fixture_name
        model = self.build(name)
        if name in self.head_types:
            assert type(model.decode_head).__name__ == self.head_types[name]
        if self.backbone_type is not None:
            assert type(model.backbone).__name__ == self.backbone_type
        own = model.state_dict()
        rows = fixture_keys(name)
        reference = {key: (shape, dtype) for key, shape, dtype, _ in rows}
        missing = set(reference) - set(own)
        assert sorted(missing) == self.reference_only_keys(name)
        assert training_only_keys(missing) == sorted(missing)
        assert set(own) <= set(reference), set(own) - set(reference)
        for key, value in own.items():
            assert (tuple(value.shape), str(value.dtype).replace('torch.', '')) == \
                reference[key], key
        for key, value in int_buffers(name).items():
            assert torch.equal(own[key], value.long()), key
        # Shared tensors are counted once: the parameter count is the reference's.
        assert sum(p.numel() for p in model.parameters()) == fixture_meta(name)['num_params']
        self.check_state_dict(name, model, [key for key, *_ in rows])

    def test_matches_reference_fixture(self, fixture_name, tmp_path):
        name = fixture_name
        model = self.load(name, tmp_path)
        state = model.state_dict()
        for group in shared_groups(name):           # every alias holds the loaded value
            for key in group:
                assert torch.equal(state[key], state[min(group)]), key
        meta = fixture_meta(name)
        logits = reference_logits(model, int(meta['seed']), tuple(meta['input_size']))
        assert logits.shape == tuple(meta['logits_shape'])
        print(name, assert_matches_fixture(logits, name))

    def test_non_square_input_other_seed(self, fixture_name, tmp_path):
        """224 x 288 at seed 1 (weights and input): finite logits that vary and are not one
        class everywhere."""
        model = self.load(fixture_name, tmp_path, seed=1)
        check = self.watch_non_square(fixture_name, model)
        logits = reference_logits(model, 1, NON_SQUARE)
        assert logits.shape == (1, NUM_CLASSES, *NON_SQUARE)
        assert torch.isfinite(logits).all()
        assert logits.std() > 0 and logits.argmax(1).unique().numel() > 1
        check()

    def test_training_step(self, train_config):
        start = time.perf_counter()
        cfg, model = self.build_for_training(train_config)
        heads = cfg.model.decode_head
        classes = self.num_classes(train_config)
        assert (heads[-1] if isinstance(heads, (list, tuple)) else heads).num_classes == classes
        data = random_batch(model, self.train_size, num_classes=classes, **self.batch_options)
        assert data['inputs'].shape == (2, 3, *self.train_size)
        losses = model(**data, mode='loss')
        assert self.expected_losses(train_config, cfg) <= set(losses), sorted(losses)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        self.after_training_step(train_config, cfg, model, total)
        print(train_config, f'train step {time.perf_counter() - start:.2f} s')
