# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Let ``torch.load(weights_only=True)`` read the checkpoints MMEngine writes.

Since torch 2.6 ``torch.load`` only unpickles tensors, containers and an
allow-list of classes unless ``weights_only=False`` is passed, and MMEngine
0.10 passes nothing. A checkpoint written by MMEngine's ``Runner`` stores,
besides tensors, the ``MessageHub`` state:
:class:`mmengine.logging.HistoryBuffer` objects holding numpy arrays, numpy
scalars and (through ``getattr``) their statistics functions. Resuming,
``load_from`` and ``tools/test.py`` therefore fail with
``Unsupported global: ...HistoryBuffer``.

:func:`register_safe_globals` adds exactly those to torch's allow-list
(``torch.serialization.add_safe_globals``), ``getattr`` in a form restricted
to ``HistoryBuffer``'s statistics methods. Every other class and function
stays forbidden, so loading a file from an untrusted source remains as safe as
torch makes it.

The list was found with
``torch.serialization.get_unsafe_globals_in_checkpoint`` on detection and
segmentation checkpoints written by ``tools/train.py`` (plain and ``--amp``
runs).
"""
import pickle
from typing import List

import numpy as np
import torch

_registered = False


def _numpy_globals() -> list:
    """Numpy's array/scalar reconstructors and classes (``HistoryBuffer`` holds
    numpy arrays), under their numpy 2 names and the numpy 1 names
    (``numpy.core.multiarray``) that older files use."""
    multiarray = getattr(np, '_core', np.core).multiarray
    items: list = [
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
    ]
    for func in (multiarray._reconstruct, multiarray.scalar):
        items.append((func, f'numpy.core.multiarray.{func.__name__}'))
    # Unpickling a dtype builds an instance of its class (numpy >= 1.25:
    # numpy.dtypes.Float64DType, ...), which must be allowed too.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            cls for cls in vars(dtypes).values()
            if isinstance(cls, type) and issubclass(cls, np.dtype)
        ]
    return items


# The statistics HistoryBuffer registers by default (see
# _set_default_statistics).
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to HistoryBuffer's statistics methods.

    A pickled ``HistoryBuffer`` stores its statistics functions, which pickle
    as ``getattr(HistoryBuffer, 'min')``. Allow-listing the real ``getattr``
    would let a malicious file reach any attribute of any object (and from
    there, code execution), so the allow-list maps ``builtins.getattr`` to this
    function, which resolves nothing else.
    """
    from mmengine.logging import HistoryBuffer
    allowed = set(_HISTORY_BUFFER_STATISTICS) | set(
        HistoryBuffer._statistics_methods)
    if (obj is HistoryBuffer
            or isinstance(obj, HistoryBuffer)) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'weights-only load: getattr({obj!r:.60}, {name!r}) is not allowed; '
        'only HistoryBuffer statistics methods are (see '
        'mmconvmlp.utils.register_safe_globals)')


def safe_globals_for_mmengine_checkpoints() -> List[object]:
    """The classes and functions an MMEngine checkpoint needs besides tensors.

    Returns:
        list: Objects and ``(object, qualified_name)`` pairs, in the form
        ``torch.serialization.add_safe_globals`` takes.
    """
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer,
            (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow-list the classes of MMEngine checkpoints for weights-only loading.

    Call it once before loading a checkpoint written by MMEngine's ``Runner``
    (``tools/train.py`` and ``tools/test.py`` do; importing :mod:`mmconvmlp`
    does too). Idempotent, and a no-op on torch versions without
    ``add_safe_globals`` (< 2.4), which do not load weights-only by default.
    """
    global _registered
    if _registered:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(safe_globals_for_mmengine_checkpoints())
    _registered = True
