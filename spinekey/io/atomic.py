"""Atomic file writes: write a temporary file beside the target, fsync, then rename over it.

Why: a run killed mid-write (Ctrl-C, SIGKILL, full disk) must leave either the previous file or none,
never a truncated one that a later step would read as valid. Every writer goes through :func:`atomic_open`, so it
is also where a tool's inputs are protected (:func:`protect_inputs`): ``--out`` typed as the input's own name
(or a link to it) must not replace the input.
"""
from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Union


# a full disk, an exhausted quota, a read-only or forbidden folder: the user's problem, told in one line
_WRITE_FAILURES = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


# (device, inode) or real path of each protected input -> the flag that named it
_PROTECTED: Dict[Union[Tuple[int, int], str], str] = {}


def _identity(path: str) -> Union[Tuple[int, int], str]:
    """What makes two names one file: device and inode when it exists (hard and symbolic links), else the real
    path."""
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except OSError:
        return os.path.realpath(path)


def protect_inputs(inputs: Mapping[str, Optional[str]]) -> None:
    """Refuse, for the rest of this process, any write that would replace one of ``inputs`` (flag -> path;
    ``None`` paths and folders are skipped). Tools call it once with every file they read."""
    for flag, path in inputs.items():
        if path and not os.path.isdir(path):
            _PROTECTED[_identity(os.fspath(path))] = flag


def clear_protected_inputs() -> None:
    _PROTECTED.clear()


def _refuse_protected(path: str) -> None:
    flag = _PROTECTED.get(_identity(path)) if _PROTECTED else None
    if flag is not None:
        from spinekey.utils.errors import SpineKeyError
        raise SpineKeyError(f'{path}: is the input given as {flag}; writing there would replace it. '
                            'Choose another output path (nothing was written)')


@contextmanager
def atomic_open(path: Union[str, os.PathLike], mode: str = 'w', **kwargs) -> Iterator[Any]:
    """Open a temporary file for writing; it replaces ``path`` only if the block finishes."""
    if not any(m in mode for m in 'wax'):
        raise ValueError(f'atomic_open is for writing, got mode {mode!r}')
    path = os.fspath(path)
    _refuse_protected(path)
    if os.path.isdir(path):
        from spinekey.utils.errors import SpineKeyError
        raise SpineKeyError(f'{path}: is a folder; give a file name to write (nothing was written)')
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


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float as ``None``: strict JSON (JavaScript, jq, Go) has no NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def atomic_write_json(path, obj: Any, indent: Union[int, None] = None) -> None:
    """Serialise ``obj`` as strict JSON to ``path`` atomically (compact unless ``indent`` is given; NaN and
    infinities written as ``null``)."""
    text = json.dumps(json_safe(obj), indent=indent, separators=None if indent else (',', ':'), allow_nan=False)
    atomic_write_text(path, text)
