"""Shared command-line plumbing: one-line errors instead of tracebacks, config loading, keypoint sync."""
from __future__ import annotations

import errno
import functools
import os
import re
import sys
from typing import Callable

from spinekey.utils.errors import SpineKeyError


# the filesystem said no: a read-only mount, a folder we may not write, a full disk, a file where a folder
# should be (or the other way round). The user's to fix, so one line, not a traceback.
_USER_FS_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR,
                   errno.EEXIST)


def run_cli(main: Callable[[], int]) -> Callable[[], int]:
    """Wrap a tool's ``main``: user errors print ``error: <message>`` on one line and exit 2.

    ``--debug`` anywhere on the command line (or SPINEKEY_DEBUG=1) shows the full traceback instead.
    """
    @functools.wraps(main)
    def wrapper() -> int:
        debug = '--debug' in sys.argv or os.environ.get('SPINEKEY_DEBUG') == '1'
        if '--debug' in sys.argv:
            sys.argv.remove('--debug')
        try:
            return main() or 0
        except KeyboardInterrupt:
            print('interrupted', file=sys.stderr)
            return 130
        except OSError as err:
            if debug or err.errno not in _USER_FS_ERRORS:
                raise
            where = err.filename or 'output'
            print(f'error: {where}: cannot write or create ({os.strerror(err.errno)}); choose another path',
                  file=sys.stderr)
            return 2
        except SpineKeyError as err:
            if debug:
                raise
            # mmengine's registry prefixes "class `X` in module: " when a build fails; users need the rest
            message = re.sub(r'^(class `\w+` in [\w.]+: )+', '', str(err))
            print(f'error: {message}', file=sys.stderr)
            return 2
    return wrapper


def load_config(path: str, cfg_options=None):
    """Load an mmengine config with a clear error for a missing or broken file."""
    from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: config file not found')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # mmengine raises many types for syntax and _base_ problems
        raise SpineKeyError(f'{path}: cannot load config ({type(err).__name__}: {err})') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
