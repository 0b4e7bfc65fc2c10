# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Let ``torch.load(weights_only=True)`` read the checkpoints MMEngine writes.

Since torch 2.6 ``torch.load`` only unpickles tensors, containers and an
allow-list of classes unless ``weights_only=False`` is passed, and MMEngine 0.10
passes nothing. A checkpoint written by MMEngine's ``Runner`` stores, besides
tensors, the ``MessageHub`` state: :class:`mmengine.logging.HistoryBuffer`
objects holding numpy arrays and numpy scalars. Resuming, ``load_from`` and
``tools/test.py`` therefore fail with ``Unsupported global: ...HistoryBuffer``.

:func:`register_safe_globals` adds exactly those classes to torch's allow-list
(``torch.serialization.add_safe_globals``). Every other class stays forbidden,
so loading a file from an untrusted source remains as safe as torch makes it.
The list was found with ``torch.serialization.get_unsafe_globals_in_checkpoint``
on detection and segmentation checkpoints written by ``tools/train.py`` (plain
and ``--amp`` runs).
"""
from typing import List

import numpy as np
import torch

_registered = False


def _numpy_globals() -> list:
    """Numpy reconstructors, array/dtype classes and scalar types, under their
    numpy 2 names and the numpy 1 names (``numpy.core``) that older files use."""
    try:
        multiarray = np._core.multiarray  # numpy >= 2
        old_prefix = 'numpy.core.multiarray'
    except AttributeError:  # numpy 1.x
        multiarray = np.core.multiarray
        old_prefix = None
    items: list = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    if old_prefix is not None:
        # A file pickled under numpy 1.x names the functions numpy.core.multiarray.*.
        items += [(multiarray._reconstruct, f'{old_prefix}._reconstruct'),
                  (multiarray.scalar, f'{old_prefix}.scalar')]
    # numpy >= 1.25 pickles a dtype through its class, e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, name) for name in dir(dtypes)
                  if name.endswith('DType') and isinstance(getattr(dtypes, name), type)]
    return items


def safe_globals_for_mmengine_checkpoints() -> List[object]:
    """The classes and functions an MMEngine checkpoint needs besides tensors.

    Returns:
        list: Objects (or ``(object, qualified_name)`` pairs) in the form
        ``torch.serialization.add_safe_globals`` takes.
    """
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer] + _numpy_globals()


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
