"""Output paths from input names, confined to the output folder: the one rule every per-film writer uses.

Why: a COCO ``file_name`` such as ``../../scan.png`` (common when the annotation file sits in a
sub-folder) once made an overlay overwrite the radiograph itself. Every name that comes from the data goes
through :func:`output_names` and :func:`path_inside` before it becomes a path, and through :func:`one_line`
before it goes into a line-based text file.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence

from spinekey.utils.errors import SpineKeyError

_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
_DRIVE = re.compile(r'^[A-Za-z]:')


def safe_relpath(name: str) -> str:
    """``name`` as a relative path that stays below any folder it is joined to.

    Back-slashes count as separators; a drive letter, leading ``/``, ``.`` and ``..`` parts are dropped;
    NUL and other control characters become ``_``. Sub-folders are kept (``a/x.png`` and ``b/x.png`` stay
    apart). An empty result is ``unnamed``.
    """
    text = _DRIVE.sub('', _CONTROL.sub('_', str(name)).replace('\\', '/'))
    parts = [p for p in text.split('/') if p not in ('', '.', '..')]
    return '/'.join(parts) or 'unnamed'


def output_names(names: Sequence[str], suffix: Optional[str] = None, flat: bool = False) -> List[str]:
    """Safe, distinct relative output names for ``names``, in order (deterministic: every process of a
    sharded run computes the same list from the same input order).

    ``suffix`` (e.g. ``'.png'``) replaces the extension; ``flat`` joins sub-folders with ``__`` into one file
    name (one folder of overlays). Names that collide (also when they differ only in
    case, for case-insensitive disks) get ``~2``, ``~3``, ... before the extension.
    """
    taken, out = set(), []
    for name in names:
        rel = safe_relpath(name)
        if flat:
            rel = rel.replace('/', '__')
        if suffix is not None:
            rel = os.path.splitext(rel)[0] + suffix
        stem, ext = os.path.splitext(rel)
        candidate, n = rel, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f'{stem}~{n}{ext}'
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def path_inside(out_dir: str, rel: str) -> str:
    """``out_dir/rel`` after checking that it resolves inside ``out_dir`` (symbolic links followed).

    Raises:
        SpineKeyError: the path would leave ``out_dir`` (a name not made safe, or a link pointing out).
    """
    root = os.path.realpath(out_dir)
    path = os.path.realpath(os.path.join(root, rel))
    if os.path.commonpath([root, path]) != root or path == root:
        raise SpineKeyError(f'{rel!r}: output path leaves the output folder {out_dir}; refused')
    return path


def one_line(text: str) -> str:
    """``text`` with control characters shown escaped, so a name cannot add lines to a listing."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
