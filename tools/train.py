#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Train a detector or segmentor (the config's ``default_scope`` decides).

    python tools/train.py configs/retinanet_convmlp_s_coco.py [--work-dir DIR]
        [--resume [CKPT]] [--amp] [--data-root DIR] [--allow-dropped]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

What it adds to the stock tool (a data check, checked checkpoints, exact
resume, CPU ``--amp`` and launcher, a claimed work directory) is
:mod:`mmconvmlp.utils.setup_env`'s; each change to the config is logged.
"""
import argparse
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.runner import find_latest_checkpoint

from mmconvmlp.models.utils import enable_safe_loading
from mmconvmlp.utils import (ToolError, add_common_args, add_hook,
                             build_runner, check_data, check_neck_channels,
                             claim_work_dir, iter_datasets, load_config,
                             run_tool, setup_amp, setup_launcher)


def main(argv=None):
    """Train; returns the trained model (errors: see :func:`run_tool`)."""
    parser = argparse.ArgumentParser(description='Train a detector or '
                                     'segmentor of an OpenMMLab config.')
    add = parser.add_argument
    add('config', help='config file')
    add_common_args(parser)
    add('--amp',
        action='store_true',
        help='mixed precision: fp16 on a GPU, bfloat16 on a CPU that '
        'computes it natively (float32 with a warning otherwise)')
    add('--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest in '
        'the work directory')
    args = parser.parse_args(argv)
    enable_safe_loading()
    cfg = load_config(args)
    check_data(cfg, 'train', args.allow_dropped)
    check_neck_channels(cfg)
    if args.amp:
        setup_amp(cfg)
    latest = None
    if args.resume == 'auto':
        latest = find_latest_checkpoint(cfg.work_dir)
        cfg.resume = latest is not None
        if latest:
            cfg.load_from = latest
    elif args.resume:
        if not osp.isfile(args.resume):
            raise ToolError(f'checkpoint to resume from not found: '
                            f'{args.resume}')
        cfg.resume, cfg.load_from = True, args.resume
    changes = []
    # Unreadable images are skipped by name instead of ending the run.
    for key, ds in iter_datasets(
            cfg.train_dataloader.get('dataset'), 'train_dataloader.dataset'):
        for i, step in enumerate(ds.get('pipeline') or []):
            if step.get('type') == 'LoadImageFromFile':
                step['type'] = 'mmconvmlp.SafeLoadImageFromFile'
                changes.append(f'{key}.pipeline.{i}: LoadImageFromFile '
                               'replaced by mmconvmlp.SafeLoadImageFromFile '
                               '(undecodable images skipped by name)')
    for hook in ('CheckpointCheckHook', 'ResumeStateHook',
                 'PlainCheckpointHook'):
        changes.append(add_hook(cfg, dict(type=f'mmconvmlp.{hook}')))
    setup_launcher(cfg)
    with claim_work_dir(cfg, 'tools/train.py'):
        runner = build_runner(cfg)
        for change in changes:
            runner.logger.info(f'tools/train.py changed the config: {change}')
        if args.resume == 'auto' and latest is None:
            runner.logger.warning(
                f'--resume: no checkpoint in {osp.abspath(cfg.work_dir)}; '
                'training starts from the beginning.')
        return runner.train()


if __name__ == '__main__':
    sys.exit(run_tool(main))
