"""``import spinekey`` registers every class the package decorates with ``@REGISTRY.register_module()``: a module
that nothing imports registers nothing (the results.json dump metric once lived in apis/, which the package
does not import, so ``DumpSpineResults`` never reached mmdet's METRICS)."""
import ast
import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def registered_in_source():
    """(registry name, registered name) of every decorated class under spinekey/."""
    found = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, 'spinekey')):
        for f in files:
            if not f.endswith('.py'):
                continue
            tree = ast.parse(open(os.path.join(dirpath, f)).read())
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef):
                    continue
                for dec in node.decorator_list:
                    if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                            and dec.func.attr == 'register_module' and isinstance(dec.func.value, ast.Name)):
                        names = [k.value.value for k in dec.keywords if k.arg == 'name']
                        found.append((dec.func.value.id, names[0] if names else node.name))
    return found


def test_importing_the_package_registers_every_decorated_class():
    wanted = registered_in_source()
    assert ('METRICS', 'DumpSpineResults') in wanted and len(wanted) >= 15
    script = ('import json, sys, spinekey\n'
              'from mmdet import registry as d\nfrom mmengine import registry as e\n'
              'wanted = json.load(sys.stdin)\n'
              'print(json.dumps([[r, n] for r, n in wanted\n'
              '                  if (getattr(d, r, None) or getattr(e, r)).get(n) is None]))\n')
    proc = subprocess.run([sys.executable, '-c', script], input=json.dumps(wanted), capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
