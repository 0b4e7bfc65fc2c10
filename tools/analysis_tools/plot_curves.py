#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Compare the training curves of runs: losses and metrics in one picture.

    python tools/analysis_tools/plot_curves.py WORK_DIR [WORK_DIR ...]
        [--keys loss coco/bbox_mAP] [--legend NAME ...] [--smooth 1]
        [--title TEXT] [--out curves.png]

Reads MMEngine's logs (``WORK_DIR/<timestamp>/vis_data/scalars.json``, or a
JSON log file given directly); needs matplotlib only. One panel per key, one
curve per run, against the iteration. Without ``--keys``: ``loss`` and the
metrics the logs have among ``coco/bbox_mAP``, ``coco/segm_mAP`` and
``mIoU``. See :mod:`mmconvmlp.utils.curves`.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

# Runs from a clone without installing the package, too.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmconvmlp.utils import ToolError, run_tool
from mmconvmlp.utils.curves import default_keys, load_scalars, plot_runs


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw the losses and metrics of one or more runs '
        "(MMEngine's vis_data/scalars.json) into one picture.")
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='WORK_DIR',
        help='work directories (or JSON log files)')
    parser.add_argument(
        '--keys',
        nargs='+',
        help='logged values to draw, one panel each (default: '
        'loss and the COCO mAP or mIoU the logs have)')
    parser.add_argument(
        '--legend',
        nargs='+',
        help='a name per run (default: the work directory '
        'names)')
    parser.add_argument(
        '--smooth',
        type=int,
        default=1,
        help='moving-average width for losses, in logged '
        'points (default: 1, raw values)')
    parser.add_argument('--title', help='title above the panels')
    parser.add_argument(
        '--out',
        default='curves.png',
        help='output picture (default: curves.png)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Draw the picture.

    Returns:
        str: The path of the picture.

    Raises:
        ToolError: A work directory without logs, a key no run logged, or
            as many ``--legend`` names as runs missing.
    """
    args = parse_args(argv)
    labels = args.legend or [osp.basename(osp.normpath(r)) for r in args.runs]
    if len(labels) != len(args.runs):
        raise ToolError(f'--legend needs one name per run: {len(args.runs)} '
                        f'runs, {len(labels)} names')
    if len(set(labels)) != len(labels):
        labels = [osp.normpath(r) for r in args.runs]
    runs = {
        label: load_scalars(path)
        for label, path in zip(labels, args.runs)
    }
    keys = args.keys or default_keys(list(runs.values()))
    if not keys:
        raise ToolError('the logs have no loss or known metric; name what to '
                        'draw with --keys')
    out = plot_runs(runs, keys, args.out, args.smooth, args.title)
    print(f'{", ".join(keys)} of {len(runs)} runs drawn: {out}')
    return out


if __name__ == '__main__':
    sys.exit(run_tool(main))
