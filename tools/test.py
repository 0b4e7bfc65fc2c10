#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Evaluate a checkpoint of a detector or segmentor: prints COCO mAP or mIoU.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show] [--show-dir DIR] [--wait-time S] [--data-root DIR]
        [--allow-dropped] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

The checkpoint is read weights-only and must fill the model exactly; output
folders holding files the project did not write are refused.
"""
import argparse
import contextlib
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmconvmlp.models.utils import enable_safe_loading
from mmconvmlp.utils import (ToolError, add_common_args, add_hook,
                             build_runner, check_data, check_neck_channels,
                             claim_work_dir, load_config, output_dir,
                             output_file, run_tool, setup_launcher)


def main(argv=None) -> dict:
    """Test; returns the metrics of ``Runner.test`` (errors: see
    :func:`run_tool`)."""
    parser = argparse.ArgumentParser(
        description='Test a detector or segmentor checkpoint: prints COCO '
        'bbox/segm mAP or mIoU.')
    add = parser.add_argument
    add('config', help='config the checkpoint was trained with')
    add('checkpoint', help='checkpoint file or URL')
    add_common_args(parser)
    add('--out',
        help='save the predictions: a .pkl file (MMDetection), a directory '
        'of label maps (MMSegmentation)')
    add('--show', action='store_true', help='show the predictions')
    add('--show-dir', help='save images with the predictions drawn on them')
    add('--wait-time', type=float, default=2, help='seconds per --show')
    args = parser.parse_args(argv)
    enable_safe_loading()
    cfg = load_config(args)
    seg = cfg.get('default_scope') == 'mmseg'
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise ToolError(f'checkpoint not found: {args.checkpoint}')
    if args.out and not seg and not args.out.endswith(('.pkl', '.pickle')):
        raise ToolError(f'--out must name a .pkl file, got {args.out}')
    check_data(cfg, 'test', args.allow_dropped)
    check_neck_channels(cfg)
    cfg.load_from = args.checkpoint
    change = add_hook(
        cfg, dict(type='mmconvmlp.CheckpointCheckHook', policy='strict'))
    if args.show or args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.update(draw=True, show=args.show, wait_time=args.wait_time)
        if args.show_dir and seg:  # mmseg's hook writes through the
            cfg.visualizer.save_dir = osp.abspath(args.show_dir)  # backends
            hook.interval = 1
        elif args.show_dir:
            hook.test_out_dir = osp.abspath(args.show_dir)
    if args.out and seg:
        cfg.test_evaluator.update(output_dir=args.out, keep_results=True)
    setup_launcher(cfg)
    with contextlib.ExitStack() as claims:
        claims.enter_context(claim_work_dir(cfg, 'tools/test.py'))
        for folder in filter(None, (args.show_dir, args.out if seg else None)):
            claims.enter_context(
                output_dir(folder, 'tools/test.py', fresh=False))
        if args.out and not seg:
            output_file(args.out, 'tools/test.py')
        runner = build_runner(cfg)
        runner.logger.info(f'tools/test.py changed the config: {change}')
        if args.out and not seg:
            from mmdet.evaluation import DumpDetResults
            runner.test_evaluator.metrics.append(
                DumpDetResults(out_file_path=args.out))
        metrics = runner.test()
    if runner.rank == 0:
        print(f'\nTest results of {args.checkpoint}:' if metrics else
              '\nNo metrics: the model predicted nothing above the score '
              'threshold on the whole test set.')
        for key, value in (metrics or {}).items():
            print(f'  {key}: {value:.4f}'
                  if isinstance(value, float) else f'  {key}: {value}')
    return metrics


if __name__ == '__main__':
    sys.exit(run_tool(main))
