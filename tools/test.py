#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Test a checkpoint of a detector or segmentor config; prints COCO mAP or
mIoU.

    python tools/test.py configs/retinanet_convmlp_s_coco.py CHECKPOINT
        [--work-dir DIR] [--out FILE_OR_DIR] [--show] [--show-dir DIR]
        [--wait-time S] [--data-root DIR] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

The config's ``default_scope`` decides between MMDetection and MMSegmentation;
see :mod:`mmconvmlp.utils.setup_env` for what the tool adds to the stock ones.
"""
import argparse
import numbers
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
from mmconvmlp.utils import (add_common_args, add_result_dump, build_runner,
                             check_datasets, check_file, check_load_from_pin,
                             check_neck_channels, check_out_path, codebase_of,
                             enable_visualization, load_config,
                             register_safe_globals, run_tool,
                             set_checkpoint_check, setup_launcher)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=
        'Test (and evaluate) a detector or segmentor checkpoint: prints '
        'COCO bbox/segm mAP or mIoU.')
    parser.add_argument(
        'config', help='config file the checkpoint was trained with')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file (path or URL), read weights-only; '
        'pin it with --cfg-options load_from_sha256=SHA256')
    add_common_args(parser)
    parser.add_argument(
        '--out',
        help='save the predictions: a .pkl file for MMDetection '
        'configs, a directory of label maps for MMSegmentation configs')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions in a window')
    parser.add_argument(
        '--show-dir',
        help='save images with the predictions drawn on them '
        'in this directory')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each image is shown with --show')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Evaluate a checkpoint on the config's test set.

    The metrics (COCO bbox/segm mAP, mIoU, ...) are logged by the runner and
    printed once more at the end.

    Returns:
        dict: The metrics ``Runner.test`` returns.

    Raises:
        ToolError: A problem the user can fix, found before testing starts
            (among them a checkpoint that does not fill the model exactly:
            :class:`mmconvmlp.models.utils.CheckpointMismatchError`).
        CheckpointError: The checkpoint was refused (code inside, or not the
            pinned SHA-256); ``run_tool`` prints it as one line.
    """
    args = parse_args(argv)
    register_safe_globals()
    cfg = load_config(args.config, args.cfg_options, args.work_dir,
                      args.data_root, args.launcher)
    check_file(args.checkpoint, 'checkpoint')
    if args.out:
        check_out_path(cfg, args.out)
    check_datasets(cfg, 'test', args.config)
    check_data(cfg, 'test', args.config)
    check_neck_channels(cfg)
    cfg.load_from = args.checkpoint
    check_load_from_pin(cfg)  # --cfg-options load_from_sha256=...
    # Refuse, before testing, a file that leaves any layer unfilled.
    set_checkpoint_check(cfg, 'strict')
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.out and codebase_of(cfg) == 'mmseg':
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    setup_launcher(cfg)
    runner = build_runner(cfg)
    if args.out:
        add_result_dump(cfg, runner, args.out)
    metrics = runner.test()
    if runner.rank == 0 and not metrics:
        print('\nThe evaluator returned no metrics (for COCO: the model '
              'predicted no box above test_cfg.score_thr on the whole test '
              'set).')
    if runner.rank == 0 and metrics:
        print(f'\nTest results of {args.checkpoint}:')
        for key, value in metrics.items():
            text = f'{float(value):.4f}' if isinstance(value,
                                                       numbers.Real) else value
            print(f'  {key}: {text}')
        sys.stdout.flush()
    return metrics


if __name__ == '__main__':
    sys.exit(run_tool(main))
