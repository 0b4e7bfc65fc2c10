# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Setting up MMEngine's runner for ``tools/train.py`` and ``tools/test.py``.

What the tools add to the stock OpenMMLab ones:

- ``--amp`` on a CPU-only machine (bfloat16 autocast where the CPU computes
  it natively, :class:`mmconvmlp.engine.CPUAmpOptimWrapper`) and the usual
  fp16 AMP on a GPU;
- ``--launcher pytorch`` on a CPU-only machine (gloo process group, CPU DDP);
- weights-only loading of every checkpoint, wherever it comes from
  (:mod:`mmconvmlp.utils.safe_load`,
  :func:`mmconvmlp.utils.register_safe_globals`);
- no partly loaded model: checkpoints are checked against the model before
  they are loaded (:func:`set_checkpoint_check`);
- problems the user can fix end the tool with one message (:class:`ToolError`).
"""
import gc
import logging
import os
import sys
from typing import Callable, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from .checks import ToolError
from .config import codebase_of, replace_sync_bn
from .safe_load import CheckpointError


def setup_launcher(cfg: Config) -> None:
    """Prepare a distributed launch on a machine without GPUs.

    MMEngine's launchers call ``torch.cuda.set_device`` and default to NCCL, so
    on a CPU-only machine the process group is created here (gloo, from the
    ``torchrun`` environment) before the runner starts, which then skips its
    own set-up. The model is wrapped in CPU DDP (``device_ids=None``), and
    SyncBN layers, which have no CPU kernel, become BN (per-process
    statistics).

    Raises:
        ToolError: ``slurm`` or ``mpi`` launch on a machine without GPUs.
    """
    import torch
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ToolError(
            f'--launcher {cfg.launcher} needs GPUs (MMEngine selects a GPU '
            'per process). On a CPU-only machine use torchrun: '
            'tools/dist_train.sh CONFIG NUM_PROCESSES (it passes --launcher '
            'pytorch).')
    import torch.distributed as dist
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ToolError(
            '--launcher pytorch expects the environment torchrun sets '
            '(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); start the tool '
            'with tools/dist_train.sh / tools/dist_test.sh.')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    replace_sync_bn(cfg.model)
    print_log(
        f'CPU distributed run: gloo process group, rank {dist.get_rank()} of '
        f'{dist.get_world_size()}; SyncBN layers use per-process BN.',
        logger='current')


def setup_amp(cfg: Config, requested: bool) -> None:
    """Select the mixed-precision optimizer wrapper for this machine.

    With ``--amp`` the config's ``OptimWrapper`` becomes MMEngine's
    ``AmpOptimWrapper`` (fp16, dynamic loss scaling) on a GPU and
    ``mmconvmlp.CPUAmpOptimWrapper`` on a CPU-only machine: bfloat16 autocast
    (no loss scaling) where the CPU computes bfloat16 natively, float32 with a
    one-line WARNING where it would be emulated (see the wrapper). A config
    that already asks for ``AmpOptimWrapper`` gets the CPU wrapper too when
    there is no GPU, where MMEngine's would stop with an assertion.

    Raises:
        ToolError: ``--amp`` with a config whose optimizer wrapper is neither
            ``OptimWrapper`` nor an AMP wrapper.
    """
    import torch
    optim_wrapper = cfg.get('optim_wrapper')
    if not isinstance(optim_wrapper, dict):
        if requested:
            raise ToolError('--amp needs an optim_wrapper in the config')
        return
    kind = optim_wrapper.get('type', 'OptimWrapper')
    amp_kinds = ('AmpOptimWrapper', 'mmengine.AmpOptimWrapper',
                 'CPUAmpOptimWrapper', 'mmconvmlp.CPUAmpOptimWrapper')
    if requested and kind not in ('OptimWrapper',
                                  'mmengine.OptimWrapper') + amp_kinds:
        raise ToolError(
            f'--amp works with optim_wrapper type OptimWrapper; this config '
            f'uses {kind}. Drop --amp, or set '
            'optim_wrapper.type=OptimWrapper.')
    if not requested and kind not in amp_kinds:
        return
    if torch.cuda.is_available():
        if kind in amp_kinds[:2]:
            print_log(
                'AMP training is already enabled in the config.',
                logger='current',
                level=logging.WARNING)
            return
        optim_wrapper['type'] = 'AmpOptimWrapper'
        for key in ('dtype',
                    'autocast_modules'):  # settings of the CPU wrapper
            optim_wrapper.pop(key, None)
        optim_wrapper.setdefault('loss_scale', 'dynamic')
        return
    optim_wrapper['type'] = 'mmconvmlp.CPUAmpOptimWrapper'
    optim_wrapper['dtype'] = 'bfloat16'
    optim_wrapper.pop('loss_scale', None)
    if 'autocast_modules' not in optim_wrapper and 'roi_head' in cfg.get(
            'model', {}):
        # Two-stage detectors call MMCV's float32-only CPU ops (nms, RoIAlign)
        # in the training forward: autocast the feature extractor only.
        optim_wrapper['autocast_modules'] = ['backbone', 'neck']
    # The wrapper logs what it does: bfloat16 autocast, or float32 on a CPU
    # without native bfloat16.


_CHECK_HOOK = 'mmconvmlp.CheckpointCheckHook'


def set_checkpoint_check(cfg: Config, policy: str) -> None:
    """Make the runner check every checkpoint it loads against the model.

    Puts ``mmconvmlp.CheckpointCheckHook`` with ``policy`` into
    ``cfg.custom_hooks``, replacing one the config may already have (the tool
    knows what it loads the file for): ``'strict'`` for testing,
    ``'finetune'`` for ``load_from`` in training, ``'resume'`` for
    ``--resume``.

    Args:
        cfg (Config): The config, changed in place.
        policy (str): See :class:`mmconvmlp.engine.CheckpointCheckHook`.
    """
    hooks = [
        h for h in (cfg.get('custom_hooks') or [])
        if not (isinstance(h, dict) and h.get('type') in
                (_CHECK_HOOK, _CHECK_HOOK.split('.')[-1]))
    ]
    cfg.custom_hooks = hooks + [dict(type=_CHECK_HOOK, policy=policy)]


def build_runner(cfg: Config):
    """The runner the config asks for (``runner_type``), else MMEngine's."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def add_result_dump(cfg: Config, runner, out: str) -> None:
    """``--out`` of ``tools/test.py``: MMDetection and other code bases dump a
    pickle; MMSegmentation writes label maps (set on its evaluator config
    instead)."""
    if codebase_of(cfg) == 'mmseg':
        return  # set on the evaluator config before the runner is built
    if codebase_of(cfg) == 'mmdet':
        from mmdet.evaluation import DumpDetResults as Dump
    else:
        from mmengine.evaluator import DumpResults as Dump
    runner.test_evaluator.metrics.append(Dump(out_file_path=out))


def run_tool(main: Callable, argv: Optional[List[str]] = None) -> int:
    """Run ``main(argv)``; a :class:`ToolError` prints its message alone (also
    one raised from inside the runner, e.g. by a hook), and so does a refused
    checkpoint (:class:`~mmconvmlp.utils.CheckpointError`).

    Returns:
        int: The exit status: 0, or 1 after either error.
    """
    try:
        main(argv)
    except (ToolError, CheckpointError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    close_process_group()
    return 0


def close_process_group() -> None:
    """Shut a distributed process group down while Python still runs.

    Left to interpreter exit, a gloo worker thread may still be releasing the
    tensors of a finished collective when Python finalizes; it then needs the
    GIL, is cancelled, and the process aborts ("terminate called without an
    active exception", a few per cent of CPU DDP runs) after a successful run.
    Collecting the runner's reference cycles frees the DDP wrapper, the group's
    last other owner, so destroying the group joins its threads here.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
