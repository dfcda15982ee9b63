"""The package's layers (docs/architecture.md): each folder imports only folders on a floor below its own, and no
module imports itself back through others. Read from every module's imports, relative ones and those inside
functions included, over spinekey/ and tools/; then checked on hand-made packages so each rule can fail."""
import ast
import os

import pytest

from tests.conftest import ROOT

# floor of each folder of spinekey/ ('' is spinekey/__init__.py, which registers the model parts) and tools/
FLOORS = {'structures': 0, 'utils': 0, 'io': 1, 'measurement': 2,
          'datasets': 3, 'models': 3, 'evaluation': 3, 'visualization': 3, 'converters': 3,
          '': 4, 'apis': 5, 'benchmarks': 6, 'tools': 7}


def module_name(path, root):
    parts = os.path.relpath(path, root)[:-3].split(os.sep)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path, name, known):
    """The known modules ``path`` (module ``name``) imports, anywhere in it; ``from a import b`` counts b when
    b is a module and a otherwise."""
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                up = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(up + ([node.module] if node.module else []))
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in known else base for a in node.names]
        else:
            continue
        yield from (t for t in targets if t in known)


def import_graph(root, folders=('spinekey', 'tools')):
    """{module: set of modules it imports} for every .py under ``folders`` of ``root``."""
    paths = {}
    for folder in folders:
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            for f in files:
                if f.endswith('.py'):
                    path = os.path.join(dirpath, f)
                    paths[module_name(path, root)] = path
    return {m: set(imported_modules(p, m, paths)) - {m} for m, p in paths.items()}


def floor_of(module):
    parts = module.split('.')
    if parts[0] == 'tools':
        return 'tools'
    return parts[1] if len(parts) > 1 else ''


def upward_imports(graph):
    """'a imports b' for every import of a folder on the importer's own floor or above (its own folder aside)."""
    wrong = []
    for module, targets in sorted(graph.items()):
        here = floor_of(module)
        for target in sorted(targets):
            there = floor_of(target)
            if there != here and FLOORS[there] >= FLOORS[here]:
                wrong.append(f'{module} (floor {FLOORS[here]}) imports {target} (floor {FLOORS[there]})')
    return wrong


def cycles(graph):
    """Groups of modules that import one another round a circle (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_folder_has_a_floor():
    graph = import_graph(ROOT)
    assert {floor_of(m) for m in graph} <= set(FLOORS), 'a new folder needs a floor in FLOORS (and a line in ' \
                                                        'docs/architecture.md)'
    assert len(graph) > 100 and any(m.startswith('tools.') for m in graph)  # spinekey/ and tools/ were read


def test_no_module_imports_from_its_own_floor_or_above():
    wrong = upward_imports(import_graph(ROOT))
    assert not wrong, '\n'.join(wrong)


def test_no_import_cycles():
    found = cycles(import_graph(ROOT))
    assert not found, '\n'.join(' -> '.join(group) for group in found)


def _write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


@pytest.mark.parametrize('files, upward, circle', [
    # a function-level relative import from measurement (2) up into apis (5): upward, no circle
    ({'spinekey/measurement/a.py': 'def f():\n    from ..apis import b\n', 'spinekey/apis/b.py': ''}, 1, 0),
    # two modules of one folder importing each other: no floor crossed, but a circle
    ({'spinekey/measurement/a.py': 'from spinekey.measurement import b\n',
      'spinekey/measurement/b.py': 'from . import a\n'}, 0, 1),
    # peers on one floor (datasets and models, both 3) and a tool imported by the package
    ({'spinekey/datasets/a.py': 'import spinekey.models.b\n', 'spinekey/models/b.py': '',
      'spinekey/io/c.py': 'from tools import d\n', 'tools/d.py': ''}, 2, 0),
    # downward only: io (1) from apis (5), structures (0) from io
    ({'spinekey/apis/a.py': 'from spinekey.io import b\n', 'spinekey/io/b.py': 'from spinekey.structures import c\n',
      'spinekey/structures/c.py': ''}, 0, 0),
])
def test_the_rules_catch_what_they_should(tmp_path, files, upward, circle):
    _write(str(tmp_path), files)
    graph = import_graph(str(tmp_path))
    assert len(upward_imports(graph)) == upward
    assert len(cycles(graph)) == circle
