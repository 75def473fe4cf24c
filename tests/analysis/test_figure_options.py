"""Figure options as data (FigureOption): the CLI flags, the checked values and the app's
widget specs all come from the same declarations; the registry is closed (no kind is
special-cased by name outside its module) and free of import cycles."""
import argparse
import ast
from pathlib import Path

import pytest

from analysis.figures import (
    FIGURES,
    KIND_MODULES,
    FigureKind,
    FigureOption,
    option_widget_specs,
    register_figure,
)

ANALYSIS = Path(__file__).resolve().parent.parent.parent / 'analysis'


def _flags(kind):
    parser = argparse.ArgumentParser(add_help=False)
    kind.add_arguments(parser)
    return {a.option_strings[0]: a for a in parser._actions}


def test_cli_flags_are_made_from_the_options():
    tsne = _flags(FIGURES['tsne'])
    assert list(tsne) == ['--class', '--max-points', '--domains', '--seed', '--perplexity',
                          '--iterations', '--backend', '--mixed-cells']
    assert tsne['--class'].dest == 'class_name' and tsne['--max-points'].type is int
    assert tsne['--backend'].choices == ('opentsne', 'sklearn')
    assert list(_flags(FIGURES['relations'])) == ['--classes', '--order', '--scale']
    assert list(_flags(FIGURES['shift'])) == ['--min-pixels', '--max-classes', '--shift-classes']
    assert all(not FIGURES[k].options for k in ('curves', 'gradcam'))


def test_values_are_checked_and_parsed():
    tsne = FIGURES['tsne']
    values = tsne.option_values({'max_points': '300', 'domains': 'semantic, spatial',
                                 'iterations': '50,60'})
    assert values['max_points'] == 300 and values['seed'] == 0        # given, and a default
    assert values['domains'] == ('semantic', 'spatial')
    assert values['iterations'] == (50, 60)
    assert 'class_name' not in values and 'backend' not in values     # None: the data's own
    with pytest.raises(ValueError, match='--max-points must be at least 1'):
        tsne.option_values({'max_points': 0})
    with pytest.raises(ValueError, match='--max-points 1.5x: expected int'):
        tsne.option_values({'max_points': '1.5x'})
    with pytest.raises(ValueError, match='--backend umap: choose from opentsne, sklearn'):
        tsne.option_values({'backend': 'umap'})
    with pytest.raises(ValueError, match='--iterations 5: expected two integers'):
        tsne.option_values({'iterations': '5'})
    relations = FIGURES['relations']
    assert relations.option_values({'classes': '12'})['classes'] == 12
    assert relations.option_values({})['classes'] == 'present'


def test_class_names_are_resolved_against_the_model():
    names = ['sky', 'wall', 'door']
    assert FIGURES['tsne'].with_classes({'class_name': 'Door'}, names)['class_name'] == 2
    assert FIGURES['tsne'].with_classes({'class_name': '1'}, names)['class_name'] == 1
    with pytest.raises(KeyError, match="unknown class 'dor'; did you mean 'door'"):
        FIGURES['tsne'].with_classes({'class_name': 'dor'}, names)
    relations = FIGURES['relations']
    assert relations.with_classes({'classes': 'sky,door'}, names) == {'classes': 'sky,door'}
    assert relations.with_classes({'classes': 'all'}, names) == {'classes': 'all'}
    with pytest.raises(KeyError, match="unknown class 'roof'"):
        relations.with_classes({'classes': 'sky,roof'}, names)


def test_widget_specs_come_from_the_same_options():
    specs = {s.name: s for s in option_widget_specs(FIGURES['tsne'])}
    assert 'class_name' not in specs                  # the app lists the image's classes
    assert (specs['max_points'].widget, specs['max_points'].precision) == ('number', 0)
    assert (specs['perplexity'].widget, specs['perplexity'].precision) == ('number', None)
    assert specs['backend'].widget == 'dropdown'
    assert specs['backend'].choices == ('opentsne', 'sklearn')
    assert specs['iterations'].widget == 'text' and specs['iterations'].value == ''
    assert specs['max_points'].label == 'tsne: max-points'
    scale = {s.name: s for s in option_widget_specs(FIGURES['relations'])}['scale']
    assert (scale.widget, scale.value) == ('dropdown', 'log')
    min_pixels = option_widget_specs(FIGURES['shift'])[0]
    assert '%' not in min_pixels.info.replace('%', '') and min_pixels.value == 5


def test_registry_refuses_bad_kinds():
    kind = FIGURES['shift']
    with pytest.raises(ValueError, match='registered twice'):
        register_figure(kind)
    with pytest.raises(ValueError, match='unknown roles'):
        register_figure(FigureKind(**{**kind.__dict__, 'name': 'x', 'roles': ('teacher',)}))
    with pytest.raises(ValueError, match='type must be str, int or float'):
        FigureOption('flag', bool)
    assert 'x' not in FIGURES


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield node.level, node.module or '', [a.name for a in node.names]


def test_kinds_import_the_registry_not_the_package():
    """No cycle analysis.figures <-> its kinds: a kind never imports its package."""
    assert set(KIND_MODULES) == {k for k in FIGURES}
    for name in KIND_MODULES:
        for level, module, _ in _imports(ANALYSIS / 'figures' / f'{name}.py'):
            assert not (level == 1 and module == ''), name          # from . import ...
            assert module not in ('analysis.figures',), name


def _kind_name_uses(path: Path):
    """Where code branches on or looks up a kind by its name: ``x == 'tsne'``,
    ``options['tsne']``, ``options.get('tsne')`` (a table naming kinds is data, not a branch)."""
    kinds = set(FIGURES)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
        elif isinstance(node, ast.Subscript):
            consts = [node.slice] if isinstance(node.slice, ast.Constant) else []
        elif isinstance(node, ast.Call) and getattr(node.func, 'attr', '') == 'get':
            consts = [a for a in node.args[:1] if isinstance(a, ast.Constant)]
        else:
            continue
        yield from (c.value for c in consts if c.value in kinds)


def test_no_kind_is_special_cased_by_name_outside_its_module():
    """The CLI and the report iterate the registry: no branch on 'tsne' or 'relations'."""
    for path in (ANALYSIS / 'cli.py', ANALYSIS / 'report.py'):
        assert list(_kind_name_uses(path)) == [], path.name


def test_timing_note_says_the_seconds():
    from analysis.figures import timing_note
    assert timing_note({'tsne': 5.43}) == 'computed in 5.4 s'
    assert timing_note({'tsne': 5.43, 'shift': 0.06}, 2.71) == \
        'tsne 5.4 s, shift 0.1 s; features 2.7 s'
