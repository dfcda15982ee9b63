"""Safe checkpoint loading and atomic checkpoint saving.

Loading: torch >= 2.6 unpickles with ``weights_only=True``, which refuses the few non-tensor objects that
mmengine stores (its ``HistoryBuffer`` log scalars, numpy arrays and scalars). Instead of switching the
safe unpickler off (``weights_only=False`` runs arbitrary code from a downloaded file), we allow-list
exactly those types, once, for the whole process; mmengine's own resume path then loads safely too.

Saving: mmengine writes checkpoints with ``open(path, 'wb')``; a kill mid-write leaves a truncated file
that ``--resume`` would pick. ``AtomicLocalBackend`` (backend name ``atomic_local``) writes a temporary
file and renames it; configs pass ``backend_args=dict(backend='atomic_local')`` to CheckpointHook.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend

from spinekey.io.atomic import atomic_write_bytes, atomic_write_text
from spinekey.utils.errors import SpineKeyError


def _numpy_globals() -> list:
    """numpy types that appear in mmengine checkpoints (arrays, scalars, dtypes)."""
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [type(np.dtype(t)) for t in ('float64', 'float32', 'int64', 'int32', 'bool', 'uint8')]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtypes


def _history_buffer_state(self) -> dict:
    """HistoryBuffer state without its statistics functions.

    mmengine pickles them as ``getattr(HistoryBuffer, 'min')``; a safe unpickler cannot allow ``getattr``
    (it reaches any attribute, hence ``os.system``), so checkpoints carrying it could only be loaded
    unsafely. The functions are class-level defaults that every process re-registers on construction.
    """
    return dict(self.__dict__)


def allow_checkpoint_globals() -> None:
    """Allow-list, for torch's safe unpickler, the non-tensor types of mmengine checkpoints.

    Also makes the checkpoints this process saves loadable with that allow-list (see above).
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals([HistoryBuffer] + _numpy_globals())


def load_checkpoint_file(path: str, map_location: str = 'cpu') -> Dict[str, Any]:
    """Read a checkpoint with the safe unpickler; one clear error for every way it can fail.

    Raises:
        SpineKeyError: missing file, not a checkpoint, or a pickle that asks for code that is not on the
            allow-list (a crafted or foreign checkpoint): we refuse it instead of executing it.
    """
    if not os.path.isfile(path):
        raise SpineKeyError(f'{path}: checkpoint not found')
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SpineKeyError(f'{path}: refused by the safe loader (it needs a type that is not allow-listed: '
                            f'{first[:200]}); only load checkpoints you trust with other tools') from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise SpineKeyError(f'{path}: not a readable PyTorch checkpoint ({type(err).__name__}: '
                            f'{str(err).splitlines()[0][:200] if str(err) else ""})') from None
    if not isinstance(ckpt, dict):
        raise SpineKeyError(f'{path}: expected a checkpoint dict, got {type(ckpt).__name__}')
    return ckpt


def checkpoint_dataset_meta(path: str) -> Dict[str, Any]:
    """The ``meta.dataset_meta`` a SpineKey checkpoint carries (classes, keypoint_names, ...); {} without one."""
    return (load_checkpoint_file(path).get('meta') or {}).get('dataset_meta') or {}


def mismatch_cause(keys) -> str:
    """What a user most likely got wrong, read from the first part of the model that does not fit."""
    parts = {k.split('.')[0] if not k.startswith('roi_head.') else '.'.join(k.split('.')[:2]) for k in keys}
    if parts & {'backbone', 'neck'}:
        return 'a checkpoint of another backbone or neck: give the config it was trained with'
    if any('keypoint' in p for p in parts):
        return 'another number of keypoints K: give the config and data it was trained with'
    if parts & {'rpn_head'} or any(p.startswith('roi_head') for p in parts):
        return 'another number of classes or another head: give the config it was trained with'
    return 'a checkpoint of another model: give the config it was trained with'


def load_model_weights(model: torch.nn.Module, path: str, strict: bool = True) -> Dict[str, Any]:
    """Load ``state_dict`` from ``path`` into ``model``; returns the checkpoint's ``meta``.

    Raises:
        SpineKeyError: as :func:`load_checkpoint_file`, or weights whose names/shapes do not match the model
            (e.g. a checkpoint trained with another K or number of classes); the message names the keys.
    """
    ckpt = load_checkpoint_file(path)
    state = ckpt.get('state_dict', ckpt)
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if mismatched:
        detail = ', '.join(f'{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}' for k in mismatched[:4])
        raise SpineKeyError(f'{path}: weights do not fit this model ({mismatch_cause(mismatched + missing)}): '
                            f'{detail}')
    if strict and (missing or unexpected):
        raise SpineKeyError(f'{path}: weights do not fit this model ({mismatch_cause(missing + unexpected)}): '
                            f'missing {missing[:4]}, unexpected {unexpected[:4]}')
    model.load_state_dict(state, strict=False)
    return ckpt.get('meta', {}) or {}


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine LocalBackend whose writes are atomic (temporary file + rename)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: Optional[str] = 'utf-8') -> None:
        atomic_write_text(filepath, obj)
