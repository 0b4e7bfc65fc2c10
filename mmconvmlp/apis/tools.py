# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""The code behind ``tools/train.py`` and ``tools/test.py``.

One pair of tools serves MMDetection and MMSegmentation configs: the config's
``default_scope`` (``'mmdet'`` or ``'mmseg'``) selects the registries, and
MMEngine's ``Runner`` does the rest with the code base's own datasets, metrics
and visualizers. What is added on top of the stock tools:

- checks that fail before the runner starts, with one message: missing dataset
  paths, a neck whose ``in_channels`` do not fit the backbone, a missing
  checkpoint (see :mod:`mmconvmlp.apis.checks`);
- ``--amp`` on a CPU-only machine (bfloat16 autocast,
  :class:`mmconvmlp.utils.CPUAmpOptimWrapper`) and the usual fp16 AMP on a GPU;
- ``--launcher pytorch`` on a CPU-only machine (gloo process group, CPU DDP);
- ``--data-root`` to point every loader and evaluator at another dataset copy;
- weights-only loading of MMEngine checkpoints
  (:func:`mmconvmlp.utils.register_safe_globals`).
"""
import argparse
import gc
import logging
import numbers
import os
import os.path as osp
import sys
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from mmconvmlp.utils import register_safe_globals
from .checks import ToolError, check_datasets, check_neck_channels, set_data_root

CODEBASES = ('mmdet', 'mmseg')


# ------------------------------------------------------------------ parsers
def _add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='the directory for logs, checkpoints and '
                        'metrics (default: ./work_dirs/<config name>)')
    parser.add_argument('--data-root', help='dataset root for every train/val/test loader '
                        "and evaluator, instead of the config's (e.g. data/coco/)")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs merged into it, e.g. '
        'train_dataloader.batch_size=4 model.backbone.init_cfg=None. A list value is '
        'written key="[a,b]" or key=a,b, nested lists key="[(a,b),(c,d)]"; the quotes '
        'are needed and no white space is allowed.')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (see tools/dist_*.sh)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def train_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/train.py``."""
    parser = argparse.ArgumentParser(
        description='Train a detector (MMDetection config) or a segmentor '
        '(MMSegmentation config).')
    parser.add_argument('config', help='config file, e.g. configs/retinanet_convmlp_s_coco.py')
    _add_common_args(parser)
    parser.add_argument('--amp', action='store_true', help='mixed precision: fp16 with '
                        'dynamic loss scaling on a GPU, bfloat16 autocast on a CPU')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest checkpoint in '
        'the work directory')
    return parser


def test_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/test.py``."""
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a detector or segmentor checkpoint: prints '
        'COCO bbox/segm mAP or mIoU.')
    parser.add_argument('config', help='config file the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file (path or URL)')
    _add_common_args(parser)
    parser.add_argument('--out', help='save the predictions: a .pkl file for MMDetection '
                        'configs, a directory of label maps for MMSegmentation configs')
    parser.add_argument('--show', action='store_true', help='show the predictions in a window')
    parser.add_argument('--show-dir', help='save images with the predictions drawn on them '
                        'in this directory')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each image is shown with --show')
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


# ------------------------------------------------------------------- config
def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the options every tool shares.

    ``--cfg-options`` are merged first; then ``--data-root`` and ``--work-dir``
    (CLI, else the config's ``work_dir``, else ``./work_dirs/<config name>``).

    Raises:
        ToolError: The config file does not exist.
    """
    if not osp.isfile(args.config):
        raise ToolError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def codebase_of(cfg: Config) -> Optional[str]:
    """``'mmdet'`` or ``'mmseg'`` from the config's ``default_scope``, else None."""
    scope = cfg.get('default_scope')
    return scope if scope in CODEBASES else None


def _replace_sync_bn(node) -> None:
    """Turn every ``type='SyncBN'`` norm config into ``'BN'``, in place."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for value in node.values():
            _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _replace_sync_bn(value)


def setup_launcher(cfg: Config) -> None:
    """Prepare a distributed launch on a machine without GPUs.

    MMEngine's launchers call ``torch.cuda.set_device`` and default to NCCL, so
    on a CPU-only machine the process group is created here (gloo, from the
    ``torchrun`` environment) before the runner starts, which then skips its own
    set-up. The model is wrapped in CPU DDP (``device_ids=None``), and SyncBN
    layers, which have no CPU kernel, become BN (per-process statistics).

    Raises:
        ToolError: ``slurm`` or ``mpi`` launch on a machine without GPUs.
    """
    import torch
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ToolError(f'--launcher {cfg.launcher} needs GPUs (MMEngine selects a GPU per '
                        'process). On a CPU-only machine use torchrun: '
                        'tools/dist_train.sh CONFIG NUM_PROCESSES (it passes --launcher '
                        'pytorch).')
    import torch.distributed as dist
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise ToolError('--launcher pytorch expects the environment torchrun sets '
                        '(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); start the tool '
                        'with tools/dist_train.sh / tools/dist_test.sh.')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    _replace_sync_bn(cfg.model)
    print_log(f'CPU distributed run: gloo process group, rank {dist.get_rank()} of '
              f'{dist.get_world_size()}; SyncBN layers use per-process BN.', logger='current')


def setup_amp(cfg: Config, requested: bool) -> None:
    """Select the mixed-precision optimizer wrapper for this machine.

    With ``--amp`` the config's ``OptimWrapper`` becomes MMEngine's
    ``AmpOptimWrapper`` (fp16, dynamic loss scaling) on a GPU and
    ``mmconvmlp.CPUAmpOptimWrapper`` (bfloat16 autocast, no loss scaling) on a
    CPU-only machine. A config that already asks for ``AmpOptimWrapper`` gets
    the CPU wrapper too when there is no GPU, where MMEngine's would stop with
    an assertion.

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
    if requested and kind not in ('OptimWrapper', 'mmengine.OptimWrapper') + amp_kinds:
        raise ToolError(f'--amp works with optim_wrapper type OptimWrapper; this config uses '
                        f'{kind}. Drop --amp, or set optim_wrapper.type=OptimWrapper.')
    if not requested and kind not in amp_kinds:
        return
    if torch.cuda.is_available():
        if kind in amp_kinds[:2]:
            print_log('AMP training is already enabled in the config.', logger='current',
                      level=logging.WARNING)
            return
        optim_wrapper['type'] = 'AmpOptimWrapper'
        for key in ('dtype', 'autocast_modules'):  # settings of the CPU wrapper
            optim_wrapper.pop(key, None)
        optim_wrapper.setdefault('loss_scale', 'dynamic')
        return
    optim_wrapper['type'] = 'mmconvmlp.CPUAmpOptimWrapper'
    optim_wrapper['dtype'] = 'bfloat16'
    optim_wrapper.pop('loss_scale', None)
    where = 'the forward pass'
    if 'autocast_modules' not in optim_wrapper and 'roi_head' in cfg.get('model', {}):
        # Two-stage detectors call MMCV's float32-only CPU ops (nms, RoIAlign) in
        # the training forward: autocast the feature extractor only.
        optim_wrapper['autocast_modules'] = ['backbone', 'neck']
        where = 'backbone and neck'
    print_log(f'No GPU: mixed precision runs as bfloat16 autocast of {where} on the CPU '
              '(mmconvmlp.CPUAmpOptimWrapper, no loss scaling).', logger='current')


def build_runner(cfg: Config):
    """The runner the config asks for (``runner_type``), else MMEngine's."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


# -------------------------------------------------------------------- train
def train(argv: Optional[List[str]] = None):
    """``tools/train.py``: train the model of a config with MMEngine's runner.

    Args:
        argv (list[str], optional): Command line without the program name;
            ``sys.argv[1:]`` when None.

    Returns:
        nn.Module: The trained model (what ``Runner.train`` returns).

    Raises:
        ToolError: A problem the user can fix, found before training starts.
    """
    args = _parse(train_parser(), argv)
    register_safe_globals()
    cfg = load_config(args)
    check_datasets(cfg, 'train', args.config)
    check_neck_channels(cfg)
    setup_amp(cfg, args.amp)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not _exists(args.resume):
            raise ToolError(f'checkpoint to resume from not found: {args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    setup_launcher(cfg)
    runner = build_runner(cfg)
    return runner.train()


# --------------------------------------------------------------------- test
def _exists(path: str) -> bool:
    return '://' in path or osp.isfile(path)


def _enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """``--show`` / ``--show-dir``: turn on the config's visualization hook."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ToolError('--show and --show-dir need a visualization hook in the config: '
                        "default_hooks.visualization=dict(type='DetVisualizationHook') "
                        "(MMDetection) or dict(type='SegVisualizationHook') (MMSegmentation)")
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        # Absolute, so that both code bases write where the user said (MMDetection
        # would otherwise nest a relative path under work_dir/<timestamp>/).
        show_dir = osp.abspath(args.show_dir)
        if codebase_of(cfg) == 'mmseg':
            # SegVisualizationHook writes through the visualizer's backends
            # (show_dir/vis_data/vis_image/), by default only every 50th image.
            cfg.visualizer['save_dir'] = show_dir
            hook['interval'] = 1
        else:
            hook['test_out_dir'] = show_dir


def _add_result_dump(cfg: Config, runner, out: str) -> None:
    """``--out``: MMDetection dumps a pickle, MMSegmentation writes label maps."""
    if codebase_of(cfg) == 'mmseg':
        return  # set on the evaluator config before the runner is built
    if not out.endswith(('.pkl', '.pickle')):
        raise ToolError(f'--out must name a .pkl file for this config, got {out}')
    if codebase_of(cfg) == 'mmdet':
        from mmdet.evaluation import DumpDetResults as Dump
    else:
        from mmengine.evaluator import DumpResults as Dump
    runner.test_evaluator.metrics.append(Dump(out_file_path=out))


def test(argv: Optional[List[str]] = None) -> dict:
    """``tools/test.py``: evaluate a checkpoint on the config's test set.

    The metrics (COCO bbox/segm mAP, mIoU, ...) are logged by the runner and
    printed once more at the end.

    Args:
        argv (list[str], optional): Command line without the program name;
            ``sys.argv[1:]`` when None.

    Returns:
        dict: The metrics ``Runner.test`` returns.

    Raises:
        ToolError: A problem the user can fix, found before testing starts.
    """
    args = _parse(test_parser(), argv)
    register_safe_globals()
    cfg = load_config(args)
    if not _exists(args.checkpoint):
        raise ToolError(f'checkpoint not found: {args.checkpoint}')
    if args.out and codebase_of(cfg) != 'mmseg' and not args.out.endswith(('.pkl', '.pickle')):
        raise ToolError(f'--out must name a .pkl file for this config, got {args.out}')
    check_datasets(cfg, 'test', args.config)
    check_neck_channels(cfg)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        _enable_visualization(cfg, args)
    if args.out and codebase_of(cfg) == 'mmseg':
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    setup_launcher(cfg)
    runner = build_runner(cfg)
    if args.out:
        _add_result_dump(cfg, runner, args.out)
    metrics = runner.test()
    if runner.rank == 0 and not metrics:
        print('\nThe evaluator returned no metrics (for COCO: the model predicted no '
              'box above test_cfg.score_thr on the whole test set).')
    if runner.rank == 0 and metrics:
        print(f'\nTest results of {args.checkpoint}:')
        for key, value in metrics.items():
            text = f'{float(value):.4f}' if isinstance(value, numbers.Real) else value
            print(f'  {key}: {text}')
        sys.stdout.flush()
    return metrics


# ------------------------------------------------------------------- entry
def run_tool(main, argv: Optional[List[str]] = None) -> int:
    """Run ``main(argv)``; a :class:`ToolError` prints its message alone.

    Returns:
        int: The exit status: 0, or 1 after a :class:`ToolError`.
    """
    try:
        main(argv)
    except ToolError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    _close_process_group()
    return 0


def _close_process_group() -> None:
    """Shut a distributed process group down while Python still runs.

    Left to interpreter exit, a gloo worker thread may still be releasing the tensors
    of a finished collective when Python finalizes; it then needs the GIL, is
    cancelled, and the process aborts ("terminate called without an active exception",
    a few per cent of CPU DDP runs) after a successful run. Collecting the runner's
    reference cycles frees the DDP wrapper, the group's last other owner, so
    destroying the group joins its threads here.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def train_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``tools/train.py``."""
    return run_tool(train, argv)


def test_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``tools/test.py``."""
    return run_tool(test, argv)
