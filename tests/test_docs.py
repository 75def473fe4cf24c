"""The examples in docstrings run, and the code cites the method note kept in the repo."""
import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCTEST_MODULES = ['ssa_seg.apis', 'ssa_seg.zoo', 'ssa_seg.zoo.released',
                   'ssa_seg.models.features']


@pytest.mark.parametrize('name', DOCTEST_MODULES)
def test_docstring_examples_run(name, monkeypatch):
    monkeypatch.chdir(REPO)                   # examples use repository-relative paths
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_code_cites_files_inside_the_repository():
    cited = []
    for path in [*REPO.glob('ssa_seg/**/*.py'), *REPO.glob('analysis/**/*.py'),
                 *REPO.glob('app/**/*.py')]:
        text = path.read_text()
        if 'SSA_METHOD' in text or 'DESIGN.md' in text or '../shared' in text:
            cited.append(str(path.relative_to(REPO)))
    assert cited == []
    assert (REPO / 'docs' / 'method.md').is_file()
    assert 'arXiv 2405.06525' in (REPO / 'docs' / 'method.md').read_text()
