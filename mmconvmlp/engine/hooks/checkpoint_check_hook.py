# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""A hook that refuses checkpoints that would leave the model partly loaded."""
from mmengine.hooks import Hook

from mmconvmlp.models.utils.checkpoint import (POLICIES, check_checkpoint,
                                               describe_skipped)
from mmconvmlp.registry import HOOKS


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """Check a checkpoint against the model before MMEngine loads it.

    MMEngine's runner loads ``load_from`` and ``resume`` files non-strictly:
    layers the file does not fill keep their random weights, with a warning
    that scrolls by. In ``after_load_checkpoint``, which the runner calls with
    the checkpoint as read and before it loads it, this hook runs
    :func:`mmconvmlp.models.utils.check_checkpoint` (the keys of any ConvMLP
    converted as its loading converts them, so the authors' files count as
    fitting). ``tools/test.py`` adds it with ``policy='strict'``,
    ``tools/train.py`` with ``'finetune'`` for ``load_from`` and ``'resume'``
    for ``--resume``; with other runners (MMDetection's or MMSegmentation's
    own tools) add it to the config::

        custom_hooks = [dict(type='mmconvmlp.CheckpointCheckHook',
                             policy='finetune')]

    Args:
        policy (str): ``'strict'``: every parameter and buffer filled, no
            unexpected or wrongly shaped tensor. ``'finetune'``: the same for
            every part but the heads; head tensors of another shape (another
            number of classes), or missing on either side, are skipped (they
            keep their initialised values) and named in one warning line.
            ``'resume'``: ``'strict'`` and the file must hold the training
            state. Defaults to ``'strict'``.

    Raises:
        ValueError: An unknown ``policy``.
        CheckpointMismatchError: (when a checkpoint is loaded) it does not fit
            under ``policy``; nothing is loaded. The message names the parts
            (``backbone``, ``neck``, ``bbox_head``, ...) and their first keys.
    """

    priority = 'VERY_HIGH'  # see the file as read, before other hooks

    def __init__(self, policy: str = 'strict') -> None:
        if policy not in POLICIES:
            raise ValueError(f'CheckpointCheckHook: policy must be one of '
                             f'{POLICIES}, got {policy!r}')
        self.policy = policy

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # The runner does not pass the file name: name load_from where it is
        # the file (auto-resume logs the file it found itself).
        source = runner.cfg.get('load_from') or getattr(
            runner, '_load_from', None)
        skipped = check_checkpoint(runner.model, checkpoint, self.policy,
                                   source)
        if not skipped.ok:
            runner.logger.warning(describe_skipped(skipped, source))
