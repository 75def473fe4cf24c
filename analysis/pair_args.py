"""One way to name the models of every command that runs a pair: the app, every
``python -m analysis`` figure, ``paper`` and ``dataset``.

    --pair NAME [--manifest FILE]                     a pair of the model zoo (default: its first)
    --baseline CONFIG CHECKPOINT --ssa CONFIG CHECKPOINT [--ablation CONFIG CHECKPOINT]
        [--baseline-name N --ssa-name N --ablation-name N]

A command says which models it needs (``need``) and which it also takes (``optional``):
a per-image figure needs only ``--ssa`` and draws ``--baseline`` beside it when given. A zoo
pair brings all its models; what a command needs and the pair lacks (an ablation model) is
said by the figure or report that needs it.
Model names follow one rule, :func:`ssa_seg.zoo.pair_from_paths`: the ``--*-name`` given,
else the name of the manifest model with the same checkpoint, else the config's stem.

    parser = argparse.ArgumentParser()
    add_pair_arguments(parser, need=('ssa',), optional=('baseline',))
    args = parser.parse_args(argv)
    pair = parse_pair(parser, args)       # argparse's error (exit 2) for a wrong combination
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ssa_seg.zoo import ManifestError, PairError, ZooModel, ZooPair, load_zoo, pair_from_paths

from .roles import ROLES

ROLE_HELP = {'baseline': 'the baseline model (vanilla classifier)',
             'ssa': 'the SSA-Seg model',
             'ablation': 'SSA-Seg trained without distillation (paper Fig. 3/6)'}
_UNNAMED = '\0'           # a companion name no model has (see _one_model)


class PairArgumentError(PairError):
    """The model arguments do not go together (a usage error: argparse's message, exit 2)."""


def add_pair_arguments(parser: argparse.ArgumentParser, need: Sequence[str] = ('baseline', 'ssa'),
                       optional: Sequence[str] = (), check_files: bool = True) -> None:
    """Add the model flags for the roles ``need`` (required when models are given by path)
    and ``optional`` to ``parser``; :func:`pair_from_args` reads them. ``check_files``: a zoo
    pair's config and checkpoint files must exist (False for a command that may need only
    the manifest's training logs, e.g. the curves)."""
    roles = tuple(r for r in ROLES if r in need or r in optional)
    if not set(need) <= set(ROLES) or not set(optional) <= set(ROLES) or not need:
        raise ValueError(f'need/optional must be roles of {ROLES}')
    group = parser.add_argument_group(
        'models', 'a zoo pair (--pair, --manifest; default: the zoo\'s first pair), or '
        + ' '.join(f'--{r} CONFIG CHECKPOINT' for r in roles)
        + (f' (needed: {", ".join("--" + r for r in need)})' if len(roles) > 1 else ''))
    group.add_argument('--pair', metavar='NAME', help='pair of the model zoo')
    group.add_argument('--manifest', metavar='FILE',
                       help='model zoo manifest (default: $SSA_SEG_MANIFEST or '
                            'checkpoints/manifest.yaml)')
    for role in roles:
        group.add_argument(f'--{role}', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                           help=ROLE_HELP[role])
    for role in roles:
        group.add_argument(f'--{role}-name', metavar='N',
                           help=f'name of the --{role} model (default: its manifest name, '
                                'else the config\'s stem)')
    parser.set_defaults(pair_need=tuple(need), pair_roles=roles, pair_check_files=check_files)


def _given(args, role: str) -> Optional[Sequence[str]]:
    return getattr(args, role, None)


def _by_path(args, need: Tuple[str, ...], roles: Tuple[str, ...]) -> List[str]:
    """The roles given by path; PairArgumentError for a wrong combination."""
    by_path = [r for r in roles if _given(args, r)]
    if by_path:
        missing = [r for r in need if r not in by_path]
        if missing:
            together = {'baseline', 'ssa'} == set(missing) | set(by_path)
            raise PairArgumentError(
                f'{" ".join("--" + r for r in by_path)} needs '
                f'{" ".join(f"--{r} CONFIG CHECKPOINT" for r in missing)} too'
                + (' (--baseline and --ssa go together)' if together else ''))
    for role in roles:
        if getattr(args, f'{role}_name', None) and role not in by_path:
            raise PairArgumentError(f'--{role}-name names the model of --{role} CONFIG '
                                    'CHECKPOINT (a zoo pair has its own names)')
    return by_path


def _check_files(args, roles: Sequence[str]) -> None:
    for role in roles:
        paths = _given(args, role)
        for what, path in zip(('config', 'checkpoint'), paths or ()):
            if not Path(path).is_file():
                raise PairError(f'--{role}: {what} not found: {path}')


def _one_model(paths: Sequence[str], name: Optional[str], known: Sequence[ZooModel]) -> ZooModel:
    """One model named by the rule of :func:`pair_from_paths` (which names two at once: the
    other one here is a placeholder whose name no model has)."""
    return pair_from_paths(paths, paths, baseline_name=_UNNAMED, ssa_name=name,
                           known=known).ssa


def _pair_from_paths(args, given: Sequence[str], known: Sequence[ZooModel]) -> ZooPair:
    _check_files(args, given)
    names = {r: getattr(args, f'{r}_name', None) for r in given}
    if 'baseline' in given and 'ssa' in given:
        pair = pair_from_paths(args.baseline, args.ssa, baseline_name=names['baseline'],
                               ssa_name=names['ssa'], known=known)
        models = {'baseline': pair.baseline, 'ssa': pair.ssa}
    else:
        models = {r: _one_model(_given(args, r), names[r], known)
                  for r in given if r != 'ablation'}
    if 'ablation' in given:
        models['ablation'] = _one_model(args.ablation, names['ablation'], known)
    seen = {}
    for role, model in models.items():
        if model.name in seen:
            raise PairArgumentError(f'--{seen[model.name]} and --{role} are both called '
                                    f'{model.name!r}; name them with --{seen[model.name]}-name '
                                    f'and --{role}-name')
        seen[model.name] = role
    title = ' vs '.join(models[r].name for r in ('baseline', 'ssa') if r in models)
    return ZooPair(title, models.get('baseline'), models.get('ssa'), models.get('ablation'))


def _zoo_pair(args) -> ZooPair:
    """The zoo pair of ``--pair`` (default: the first). A model the pair lacks (an ablation)
    is not an argument error: what needs it says so (a figure, the paper report)."""
    try:
        pair = load_zoo(getattr(args, 'manifest', None)).pair(getattr(args, 'pair', None))
    except ManifestError as err:
        raise PairError(f'the model zoo cannot be used: {err}' if not getattr(args, 'pair', None)
                        else str(err)) from None
    return pair.check_files() if getattr(args, 'pair_check_files', True) else pair


def _roles(args) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    return (tuple(getattr(args, 'pair_need', ('baseline', 'ssa'))),
            tuple(getattr(args, 'pair_roles', ('baseline', 'ssa'))))


def _known_models(args) -> List[ZooModel]:
    """The manifest's models (whose names and metrics models given by path take), or none
    when there is no manifest and none was asked for."""
    try:
        return list(load_zoo(getattr(args, 'manifest', None)).models.values())
    except ManifestError as err:
        if getattr(args, 'manifest', None):
            raise PairError(str(err)) from None
        return []


def paths_pair(args, known: Optional[Sequence[ZooModel]] = None) -> Optional[ZooPair]:
    """The models given by path (``--baseline``, ``--ssa``, ``--ablation``) as a
    :class:`ssa_seg.zoo.ZooPair`, or None when none is; a role not given is None.
    ``known``: the manifest models to take names from (default: the manifest's)."""
    need, roles = _roles(args)
    given = _by_path(args, need, roles)
    if not given:
        return None
    return _pair_from_paths(args, given, _known_models(args) if known is None else known)


def pair_from_args(args, known: Optional[Sequence[ZooModel]] = None) -> ZooPair:
    """The models of parsed arguments (:func:`add_pair_arguments`): given by path
    (:func:`paths_pair`) or a zoo pair (``--pair``, default the first; it must have the
    models the command needs).

    Raises :class:`PairArgumentError` for arguments that do not go together and
    :class:`ssa_seg.zoo.PairError` for files that are not there or a zoo that cannot be used.
    """
    need, roles = _roles(args)
    by_path = _by_path(args, need, roles)
    if by_path and getattr(args, 'pair', None):
        raise PairArgumentError(f'give either --pair or {" ".join("--" + r for r in by_path)}, '
                                'not both')
    pair = paths_pair(args, known)
    return pair if pair is not None else _zoo_pair(args)


def fail(message: str):
    """End a command with ``error: message`` (exit 1): bad input that is not a usage error
    (a missing file, an unreadable image, an unknown class). Every analysis command uses it."""
    raise SystemExit(f'error: {message}')


def parse_pair(parser: argparse.ArgumentParser, args) -> ZooPair:
    """:func:`pair_from_args` for a command line: a wrong combination is argparse's usage
    error (exit 2), a missing file or an unusable zoo ``error: ...`` (exit 1)."""
    try:
        return pair_from_args(args)
    except PairArgumentError as err:
        parser.error(str(err))
    except PairError as err:
        fail(str(err))
