#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Parameters, GMACs and GFLOPs of detector and segmentor configs, per part.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...]
        [--shape H [W]] [--fold-bn] [--format {text,markdown,json}]
        [--cfg-options KEY=VALUE ...]

Works for MMDetection and MMSegmentation configs alike, with no dataset and
no checkpoint: the model is built from the config and counted on one
synthetic image (default 800x1280 for detection, 512x512 for segmentation).
MMEngine counts a multiply-add as one "flop"; the tool prints that count as
GMACs and GFLOPs = 2 x GMACs. See :mod:`mmconvmlp.utils.complexity` and
docs/complexity.md.
"""
import argparse
import json
import os.path as osp
import sys
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmconvmlp.utils import ToolError, add_cfg_options, load_config, run_tool
from mmconvmlp.utils.complexity import (config_complexity, format_complexity,
                                        markdown_table)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count parameters and GMACs/GFLOPs of detector or '
        'segmentor configs on a synthetic image (no dataset needed).')
    parser.add_argument('config', nargs='+', help='config file(s)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='PIXELS',
        help='input H W (one value: square); default 800 1280 for '
        'MMDetection, 512 512 for MMSegmentation configs')
    parser.add_argument(
        '--fold-bn',
        action='store_true',
        help="leave out the BatchNorms ConvMLP folds into its convs in eval "
        'mode (count the network as it runs); by default they are counted '
        'like any eval BatchNorm')
    parser.add_argument(
        '--format',
        choices=['text', 'markdown', 'json'],
        default='text',
        help='output format')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) > 2:
        parser.error(f'--shape takes H W or one size, got {args.shape}')
    return args


def main(argv: Optional[List[str]] = None) -> list:
    """Count every config and print the tables.

    Returns:
        list[ModelComplexity]: One result per config, in order.

    Raises:
        ToolError: A config that does not exist or is not an MMDetection or
            MMSegmentation config, or an invalid ``--shape``.
    """
    args = parse_args(argv)
    results = []
    for path in args.config:
        cfg = load_config(path, args.cfg_options)
        name = osp.splitext(osp.basename(path))[0]
        try:
            results.append(
                config_complexity(cfg, args.shape, name, fold_bn=args.fold_bn))
        except ValueError as e:
            raise ToolError(f'{path}: {e}') from e
        if args.format == 'text':
            print(format_complexity(results[-1]), flush=True)
    if args.format == 'markdown':
        print(markdown_table(results))
    elif args.format == 'json':
        print(json.dumps([r.to_dict() for r in results], indent=1))
    elif len(results) > 1:
        print()
    if args.format == 'text':
        print('GMACs: 1e9 multiply-adds (what MMEngine calls flops); '
              'GFLOPs = 2 x GMACs.')
    return results


if __name__ == '__main__':
    sys.exit(run_tool(main))
