# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Hooks that make checkpoint loading strict and weights-only."""
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmconvmlp.models.utils.checkpoint import (POLICIES, check_checkpoint,
                                               enable_safe_loading)
from mmconvmlp.registry import HOOKS


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """Refuse a checkpoint that would leave the model partly loaded.

    MMEngine's runner loads ``load_from`` and ``resume`` files non-strictly.
    In ``after_load_checkpoint``, which the runner calls with the file as
    read, before loading it, this hook runs
    :func:`mmconvmlp.models.utils.check_checkpoint` (ConvMLP keys in the
    authors' layout count as fitting). The project's configs name it::

        custom_hooks = [dict(type='mmconvmlp.CheckpointCheckHook')]

    Args:
        policy (str): ``'auto'`` (default): ``'resume'`` when the config
            resumes, ``'finetune'`` for ``load_from`` in training, else
            ``'strict'`` (testing). Or one of ``'strict'``, ``'finetune'``,
            ``'resume'`` (see ``check_checkpoint``).

    Raises:
        ValueError: An unknown ``policy``.
        CheckpointMismatchError: (when a checkpoint is loaded) it does not
            fit; nothing is loaded. The message names parts and keys.
    """

    priority = 'VERY_HIGH'  # see the file as read, before other hooks

    def __init__(self, policy: str = 'auto') -> None:
        if policy != 'auto' and policy not in POLICIES:
            raise ValueError('CheckpointCheckHook: policy must be auto or '
                             f'one of {POLICIES}, got {policy!r}')
        self.policy = policy

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        policy = self.policy
        if policy == 'auto':
            # The runner has no public "am I training" flag; its train loop
            # is built (a BaseLoop) only inside Runner.train().
            training = isinstance(
                getattr(runner, '_train_loop', None), BaseLoop)
            policy = ('resume' if runner.cfg.get('resume') else
                      'finetune' if training else 'strict')
        source = runner.cfg.get('load_from')
        skipped = check_checkpoint(runner.model, checkpoint, policy, source)
        if skipped:
            runner.logger.warning(
                f'fine-tuning from {source}: head tensors that do not fit '
                'keep their initial values:\n' + '\n'.join(skipped))


@HOOKS.register_module()
class SafeLoadingHook(Hook):
    """Read every checkpoint of the run weights-only, whatever its scheme
    (local, http(s), ``torchvision://``, ``open-mmlab://``, ``mmcls://``,
    ...).

    For runs of the stock MMDetection/MMSegmentation tools (this project's
    tools do it themselves): building the hook calls
    :func:`mmconvmlp.models.utils.enable_safe_loading` for the process,
    before the runner loads anything::

        custom_hooks = [dict(type='mmconvmlp.SafeLoadingHook')]
    """

    def __init__(self) -> None:
        enable_safe_loading()
