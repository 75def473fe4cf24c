"""The import graph of ``ssa_seg``, ``analysis`` and ``app``, read from the source with ``ast``:
no cycles, and the layers point one way, ``app -> analysis -> ssa_seg``.

Every import counts, at module level or inside a function (a lazy import is still a
dependency). Relative imports are resolved against the importing module's package;
``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``;
an import of something that is not a module of the scanned packages (``mmseg``, ``torch``) is
no edge. Importing ``pkg.mod`` is an edge to ``pkg.mod`` only, not to ``pkg``: Python runs
``pkg/__init__`` first, but counting that would make every package that imports its own
submodules a cycle.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ('ssa_seg', 'analysis', 'app')
# Each package may import only the packages after it.
LAYERS = ('app', 'analysis', 'ssa_seg')

Graph = Dict[str, Set[str]]


# --------------------------------------------------------------------------- the graph builder

def package_modules(root: Path, package: str) -> Dict[str, Path]:
    """Module name -> source file, for ``root/package`` and every sub-package below it (a
    folder with ``__init__.py``; folders without one, such as ``ssa_seg/configs``, hold no
    modules)."""
    modules: Dict[str, Path] = {}

    def walk(folder: Path, name: str) -> None:
        modules[name] = folder / '__init__.py'
        for path in sorted(folder.iterdir()):
            if path.is_dir() and (path / '__init__.py').is_file():
                walk(path, f'{name}.{path.name}')
            elif path.suffix == '.py' and path.name != '__init__.py':
                modules[f'{name}.{path.stem}'] = path

    walk(root / package, package)
    return modules


def _imported_names(tree: ast.AST, module: str, is_package: bool
                    ) -> Iterator[Tuple[str, Optional[str]]]:
    """(absolute module, imported name or None) for every import statement in ``tree``."""
    package = module if is_package else module.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - (node.level - 1)])
                source = f'{base}.{node.module}' if node.module else base
            else:
                source = node.module
            for alias in node.names:
                yield source, alias.name


def _known(name: str, modules: Set[str]) -> Optional[str]:
    """``name`` or its longest prefix that is a scanned module; None for outside modules."""
    while name and name not in modules:
        name = name.rpartition('.')[0]
    return name or None


def import_graph(root: Path, packages: Sequence[str]) -> Graph:
    """module -> the scanned modules it imports (self-imports left out)."""
    files: Dict[str, Path] = {}
    for package in packages:
        files.update(package_modules(root, package))
    names = set(files)
    graph: Graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for source, name in _imported_names(tree, module, path.name == '__init__.py'):
            target = f'{source}.{name}' if name and f'{source}.{name}' in names else source
            target = _known(target, names)
            if target is not None and target != module:
                edges.add(target)
        graph[module] = edges
    return graph


def import_cycles(graph: Graph) -> List[Set[str]]:
    """The strongly connected components of more than one module: each module of one imports
    each other one, directly or not (Tarjan's algorithm, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    components: List[Set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def cycles(graph: Graph) -> List[List[str]]:
    """One shortest cycle ``[a, b, ..., a]`` per component of :func:`import_cycles`, sorted."""
    return sorted(_cycle_in(graph, component) for component in import_cycles(graph))


def _cycle_in(graph: Graph, component: Set[str]) -> List[str]:
    """A shortest cycle through the component's first module (breadth-first inside it)."""
    start = min(component)
    parent: Dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:                 # node -> start closes the cycle
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f'no cycle in the component {sorted(component)}')


def layering_violations(graph: Graph, layers: Sequence[str]) -> List[Tuple[str, str]]:
    """(importer, imported) pairs where a package imports one that comes before it in
    ``layers`` (each package may import only the ones after it)."""
    rank = {package: i for i, package in enumerate(layers)}
    return sorted((module, target) for module, targets in graph.items() for target in targets
                  if rank[target.partition('.')[0]] < rank[module.partition('.')[0]])


def _show(graph: Graph, component: Set[str]) -> str:
    """A cycle of the component, and all its modules when there are more."""
    text = ' -> '.join(_cycle_in(graph, component))
    if len(component) > 2:
        text += f' (together with {", ".join(sorted(component))})'
    return text


# --------------------------------------------------------------------------- the project

@pytest.fixture(scope='module')
def project_graph() -> Graph:
    return import_graph(REPO, PACKAGES)


@pytest.mark.parametrize('package', PACKAGES)
def test_no_import_cycles(project_graph, package):
    found = [c for c in import_cycles(project_graph)
             if any(m.partition('.')[0] == package for m in c)]
    assert not found, 'import cycles:\n' + '\n'.join(
        sorted(_show(project_graph, c) for c in found))


def test_layers_point_one_way(project_graph):
    """``ssa_seg`` imports neither ``analysis`` nor ``app``; ``analysis`` does not import
    ``app``."""
    bad = layering_violations(project_graph, LAYERS)
    assert not bad, 'imports against app -> analysis -> ssa_seg:\n' + '\n'.join(
        f'{a} imports {b}' for a, b in bad)


def test_the_graph_sees_the_known_edges(project_graph):
    """The builder reads this project as it is: a lazy import inside a function, a relative
    ``from .. import`` two levels up, and ``from pkg import submodule``."""
    assert 'ssa_seg.apis' in project_graph['ssa_seg.zoo.add']               # inside a function
    assert 'ssa_seg.models.registry' in project_graph['ssa_seg.models.heads.cgrseg']
    assert 'ssa_seg.checkpoint' in project_graph['ssa_seg.models.backbones.seaformer']
    assert {'ssa_seg.models', 'ssa_seg.datasets'} <= project_graph['ssa_seg']
    assert not any(m.startswith('ssa_seg.configs') for m in project_graph)


# --------------------------------------------------------------------------- the builder itself

def _write(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_builder_finds_a_cycle_through_a_function_level_and_a_relative_import(tmp_path):
    root = _write(tmp_path, {
        'top/__init__.py': 'from .low import assist\n',
        'top/low/__init__.py': 'from .helper import assist\n',
        'top/low/helper.py': 'import os\n\n\ndef assist():\n    from .. import top_name\n',
        'top/side.py': 'import numpy\n',
    })
    graph = import_graph(root, ['top'])
    assert graph == {'top': {'top.low'}, 'top.low': {'top.low.helper'},
                     'top.low.helper': {'top'}, 'top.side': set()}
    assert cycles(graph) == [['top', 'top.low', 'top.low.helper', 'top']]


def test_builder_resolves_from_package_import_submodule_and_passes_a_clean_package(tmp_path):
    # `from top import reg` names the module top.reg, not the package: no cycle with top.
    root = _write(tmp_path, {
        'top/__init__.py': 'from . import heads, reg\n',
        'top/reg.py': 'REGISTRY = {}\n',
        'top/heads/__init__.py': 'from .one import One\n',
        'top/heads/one.py': 'from top import reg\nfrom ..reg import REGISTRY\nimport top.reg\n',
        'top/configs/cfg.py': 'from top import heads\n',      # not a package: not scanned
    })
    graph = import_graph(root, ['top'])
    assert graph == {'top': {'top.heads', 'top.reg'}, 'top.reg': set(),
                     'top.heads': {'top.heads.one'}, 'top.heads.one': {'top.reg'}}
    assert cycles(graph) == []
    # The same head importing a name from the package is the cycle this test guards against.
    (root / 'top' / 'heads' / 'one.py').write_text('from .. import REGISTRY\n')
    assert cycles(import_graph(root, ['top'])) == [['top', 'top.heads', 'top.heads.one', 'top']]


def test_builder_finds_layering_violations(tmp_path):
    root = _write(tmp_path, {
        'lib/__init__.py': '', 'lib/core.py': 'def f():\n    import mid.tool\n',
        'mid/__init__.py': '', 'mid/tool.py': 'from lib.core import f\n',
        'ui/__init__.py': 'from mid import tool\nfrom lib import core\n',
    })
    graph = import_graph(root, ['lib', 'mid', 'ui'])
    assert layering_violations(graph, ['ui', 'mid', 'lib']) == [('lib.core', 'mid.tool')]
    assert cycles(graph) == [['lib.core', 'mid.tool', 'lib.core']]
    (root / 'lib' / 'core.py').write_text('def f():\n    return 1\n')
    graph = import_graph(root, ['lib', 'mid', 'ui'])
    assert layering_violations(graph, ['ui', 'mid', 'lib']) == [] and cycles(graph) == []
