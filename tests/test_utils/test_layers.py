"""Layers import downward only (docs/development.md): tools -> apis -> datasets/models/evaluation/measurement/
visualization/converters -> io/utils. Checked on every module's imports, including those inside functions."""
import ast
import os

from tests.conftest import ROOT

LAYER = {'benchmarks': 3, 'apis': 2, 'datasets': 1, 'models': 1, 'evaluation': 1, 'measurement': 1,
         'visualization': 1, 'converters': 1, 'io': 0, 'utils': 0}


def _imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_no_module_imports_from_a_layer_above_it():
    package = os.path.join(ROOT, 'spinekey')
    wrong = []
    for root, _, files in os.walk(package):
        rel = os.path.relpath(root, package).split(os.sep)[0]
        if rel not in LAYER:
            continue
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(root, name)
            for module in _imports(path):
                parts = module.split('.')
                if parts[0] == 'tools' or (parts[0] == 'spinekey' and len(parts) > 1 and parts[1] in LAYER
                                           and LAYER[parts[1]] > LAYER[rel]):
                    wrong.append(f'{os.path.relpath(path, ROOT)} imports {module}')
    assert not wrong, '\n'.join(wrong)
