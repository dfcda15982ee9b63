"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

Why: a run killed mid-write (Ctrl-C, SIGKILL, full disk) must leave either the previous file or none,
never a truncated one that a later step would read as valid.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Union


# a full disk, an exhausted quota, a read-only or forbidden folder: the user's problem, told in one line
_WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def atomic_open(path: Union[str, os.PathLike], mode: str = 'w', **kwargs) -> Iterator[Any]:
    """Open a temporary file for writing; it replaces ``path`` only if the block finishes."""
    if not any(m in mode for m in 'wax'):
        raise ValueError(f'atomic_open is for writing, got mode {mode!r}')
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=directory)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the mode open() would give
    except OSError as err:
        _raise_write_failure(path, err)
        raise
    try:
        with os.fdopen(fd, mode.replace('x', 'w').replace('a', 'w'), **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            _raise_write_failure(path, err)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _raise_write_failure(path: str, err: OSError) -> None:
    """A full disk or a folder we may not write to is the user's to fix: one line, not a traceback."""
    if err.errno in _WRITE_FAILURES:
        from spinekey.utils.errors import SpineKeyError
        raise SpineKeyError(f'{path}: cannot write ({os.strerror(err.errno)}); nothing was written, '
                            'the previous file (if any) is unchanged') from None


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_write_text(path, text: str) -> None:
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def atomic_write_json(path, obj: Any, indent: Union[int, None] = None) -> None:
    """Serialise ``obj`` as JSON to ``path`` atomically (compact unless ``indent`` is given)."""
    atomic_write_text(path, json.dumps(obj, indent=indent, separators=None if indent else (',', ':')))
