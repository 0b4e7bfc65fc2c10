# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Checkpoints that ``torch.load(weights_only=True)`` reads as written.

torch >= 2.6 loads weights-only by default, and MMEngine 0.10.7 calls
``torch.load`` without ``weights_only``. Every checkpoint MMEngine's runner
writes holds its ``MessageHub``, whose ``HistoryBuffer`` objects (numpy
arrays inside) weights-only loading refuses, so the stock APIs
(``DetInferencer``, ``init_detector``, ``MMSegInferencer``, ``init_model``,
the code bases' ``tools/test.py``) fail on the runner's own files with
``UnpicklingError``. This hook writes them as tensors and plain types.
"""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmconvmlp.registry import HOOKS

#: A one-key dict ``{tag: value}`` stands for what the tag names.
BUFFER_TAG = 'mmconvmlp.HistoryBuffer'
ARRAY_TAG = 'mmconvmlp.ndarray'


def to_plain(obj):
    """``obj`` with every ``HistoryBuffer`` and numpy array replaced by a
    one-key dict of tensors and every numpy scalar by a Python number, in
    nested dicts, lists and tuples (others are kept). Not in place."""
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {
            BUFFER_TAG:
            dict(
                logs=torch.from_numpy(logs.copy()),
                counts=torch.from_numpy(counts.copy()),
                max_length=obj.max_length)
        }
    if isinstance(obj, np.ndarray):
        return {ARRAY_TAG: torch.from_numpy(obj.copy())}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        out = obj.copy()  # keeps OrderedDict
        out.update((k, to_plain(v)) for k, v in obj.items())
        return out
    if type(obj) in (list, tuple):
        return type(obj)(to_plain(v) for v in obj)
    return obj


def from_plain(obj):
    """Undo :func:`to_plain` (numpy scalars come back as Python numbers)."""
    if isinstance(obj, dict) and len(obj) == 1 and BUFFER_TAG in obj:
        value = obj[BUFFER_TAG]
        return HistoryBuffer(value['logs'].numpy(), value['counts'].numpy(),
                             value['max_length'])
    if isinstance(obj, dict) and len(obj) == 1 and ARRAY_TAG in obj:
        return obj[ARRAY_TAG].numpy()
    if isinstance(obj, dict):
        out = obj.copy()
        out.update((k, from_plain(v)) for k, v in obj.items())
        return out
    if type(obj) in (list, tuple):
        return type(obj)(from_plain(v) for v in obj)
    return obj


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Write checkpoints that weights-only loading reads with no allow-list;
    restore MMEngine's objects when one is loaded.

    ``before_save_checkpoint`` stores the message hub's ``HistoryBuffer``
    objects and any numpy values of the checkpoint as tensors and Python
    numbers (:func:`to_plain`); ``after_load_checkpoint`` turns them back
    before the runner resumes (:func:`from_plain`). The project's configs
    name it; in a config of yours::

        custom_hooks = [dict(type='mmconvmlp.PlainCheckpointHook')]

    A file written without it is rewritten in plain types by
    ``tools/model_converters/convmlp2mmconvmlp.py OLD.pth NEW.pth``.
    """

    priority = 'LOWEST'  # save: after every hook that adds to the file

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.update(to_plain(checkpoint))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.update(from_plain(checkpoint))
