#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Train a detector (MMDetection config) or a segmentor (MMSegmentation
config).

    python tools/train.py configs/retinanet_convmlp_s_coco.py [--work-dir DIR]
        [--resume [CKPT]] [--amp] [--data-root DIR]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

The config's ``default_scope`` decides between MMDetection and MMSegmentation;
see :mod:`mmconvmlp.utils.setup_env` for what the tool adds to the stock ones.
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmconvmlp.datasets import check_data
from mmconvmlp.utils import (add_common_args, build_runner, check_datasets,
                             check_file, check_load_from_pin,
                             check_neck_channels, load_config,
                             register_safe_globals, run_tool,
                             set_checkpoint_check, setup_amp, setup_launcher,
                             setup_resume)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a detector (MMDetection config) or a segmentor '
        '(MMSegmentation config).')
    parser.add_argument(
        'config', help='config file, e.g. configs/retinanet_convmlp_s_coco.py')
    add_common_args(parser)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: fp16 with '
        'dynamic loss scaling on a GPU, bfloat16 autocast on a CPU that '
        'computes bfloat16 natively (float32 with a warning otherwise)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the newest '
        'complete checkpoint in the work directory; with none there, train '
        'from the beginning (with a warning)')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[List[str]] = None):
    """Train the model of a config with MMEngine's runner.

    Returns:
        nn.Module: The trained model (what ``Runner.train`` returns).

    Raises:
        ToolError: A problem the user can fix, found before training starts
            (among them a checkpoint that does not fit the model:
            :class:`mmconvmlp.models.utils.CheckpointMismatchError`).
        CheckpointError: A checkpoint was refused (code inside, or not the
            pinned SHA-256); ``run_tool`` prints it as one line.
    """
    args = parse_args(argv)
    register_safe_globals()
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.data_root, args.launcher)
    check_datasets(cfg, 'train', args.config)
    check_data(cfg, 'train', args.config)
    check_neck_channels(cfg)
    setup_amp(cfg, args.amp)
    if args.resume not in (None, 'auto'):
        check_file(args.resume, 'checkpoint to resume from')
    warning = setup_resume(cfg, args.resume)
    check_load_from_pin(cfg)
    # Resuming needs the exact model; fine-tuning (load_from) the backbone and
    # neck, while head weights of another class count are skipped.
    set_checkpoint_check(cfg, 'resume' if cfg.get('resume') else 'finetune')
    setup_launcher(cfg)
    runner = build_runner(cfg)
    if warning:
        runner.logger.warning(warning)
    return runner.train()


if __name__ == '__main__':
    sys.exit(run_tool(main))
