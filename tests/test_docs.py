"""Every command quoted in README.md and docs/*.md names a tool, launcher or make target that exists, and
every --flag it passes is one that tool's --help lists (so the guides cannot drift from the code)."""
import glob
import json
import os
import re
import shlex
import subprocess
import sys

from tests.conftest import ROOT

DOCS = [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))


def _commands():
    """(doc, command words) of each shell line in ```bash blocks, continuations joined, comments dropped."""
    for doc in DOCS:
        for block in re.findall(r'```bash\n(.*?)```', open(doc).read(), re.S):
            for line in block.replace('\\\n', ' ').splitlines():
                line = re.sub(r'\s#.*$', '', line).strip()
                if not line or line.startswith('#'):
                    continue
                try:
                    words = shlex.split(line)
                except ValueError:
                    words = line.split()
                words = [w.strip('[]|') for w in words if w.strip('[]|')]
                while words and re.match(r'^[A-Z_]+=', words[0]):  # VAR=value prefixes
                    words = words[1:]
                yield os.path.relpath(doc, ROOT), words


def _target(words):
    """(script to ask for --help, flags given to it) or None for commands that are not ours."""
    for i, w in enumerate(words):
        if w.startswith('tools/') and w.endswith(('.py', '.sh')):
            return w, [x.split('=')[0] for x in words[i + 1:] if x.startswith('--')]
        if w in ('train.sh', 'inference.sh') and i > 0 and words[i - 1] == 'bash':
            return w, [x.split('=')[0] for x in words[i + 1:] if x.startswith('--')]
    return None


# Every Python tool's --help in one process: each tool run as __main__ with argv [tool, --help], its exit code and
# what it printed collected as JSON. One interpreter pays the package's import (about 4 s) once, not per tool.
_HELP_ALL = """
import contextlib, io, json, runpy, sys
out = {}
for script in sys.argv[1:]:
    buf, code = io.StringIO(), 0
    sys.argv = [script, '--help']
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except Exception as err:  # a tool that fails to import: reported, not hidden
            code, _ = 1, buf.write(repr(err))
    out[script] = {'code': code, 'text': buf.getvalue()}
print(json.dumps(out))
"""


def _helps(scripts):
    """{script: (exit code, --help text)}: the shell launchers each in their own bash, the tools in one Python."""
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    out = {}
    for script in [s for s in scripts if s.endswith('.sh')]:
        proc = subprocess.run(['bash', script, '--help'], cwd=ROOT, capture_output=True, text=True, env=env,
                              timeout=300)
        out[script] = (proc.returncode, proc.stdout + proc.stderr)
    tools = [s for s in scripts if not s.endswith('.sh')]
    proc = subprocess.run([sys.executable, '-c', _HELP_ALL, *tools], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, f'--help of the tools failed: {proc.stderr[-2000:]}'
    out.update({s: (r['code'], r['text']) for s, r in json.loads(proc.stdout.splitlines()[-1]).items()})
    return out


def test_quoted_commands_exist_and_their_flags_parse():
    uses, makes = {}, set()
    for doc, words in _commands():
        if words[:1] == ['make'] and len(words) > 1:
            makes.add((doc, words[1]))
        target = _target(words)
        if target:
            uses.setdefault(target[0], []).append((doc, target[1]))
    assert len(uses) >= 10, f'expected the guides to quote most tools, found {sorted(uses)}'
    missing = [s for s in uses if not os.path.isfile(os.path.join(ROOT, s))]
    assert not missing, f'quoted but absent: {missing}'
    wrong = []
    for script, (code, text) in _helps(sorted(uses)).items():
        assert code == 0, f'{script} --help failed: {text[-500:]}'
        for doc, flags in uses[script]:
            wrong += [f'{doc}: {script} {f}' for f in flags if not re.search(re.escape(f) + r'(?![\w-])', text)]
    assert not wrong, 'flags that --help does not list:\n' + '\n'.join(wrong)
    targets = set(re.findall(r'^([\w-]+):', open(os.path.join(ROOT, 'Makefile')).read(), re.M))
    assert not [m for m in makes if m[1].split('=')[0] not in targets and '=' not in m[1]], makes
