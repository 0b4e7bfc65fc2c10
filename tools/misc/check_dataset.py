#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Check every file of a config's datasets: decode each image and label map.

    python tools/misc/check_dataset.py CONFIG [--split train|val|test|all]
        [--data-root DIR] [--cfg-options KEY=VALUE ...]

``tools/train.py`` and ``tools/test.py`` check what is cheap before they
start (annotation files, boxes, categories, file sizes, a sample of the
label maps); this tool checks all of it and decodes every file too, then
prints a summary: each kind of problem, how often, the first files. It
exits with 1 when a problem makes the data unusable. See docs/data_checks.md.
"""
import argparse
import os.path as osp
import sys
import time
import warnings
from typing import List, Optional

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction

from mmconvmlp.datasets import (SPLIT_LOADERS, data_check_settings,
                                scan_config, summary_lines, unique_reports)
from mmconvmlp.datasets.checks import UNDECODABLE_IMAGE
from mmconvmlp.utils import ToolError, check_datasets, load_config, run_tool


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Decode every image and label map of a config\'s '
        'datasets and summarise the problems found.')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--split',
        choices=sorted(SPLIT_LOADERS),
        default='all',
        help='the data loaders to check: '
        'train, val, test or all (default)')
    parser.add_argument(
        '--data-root',
        help="dataset root instead of the "
        "config's (as in tools/train.py)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> list:
    """Check the datasets of ``--split``; print the summary.

    Returns:
        list[DatasetReport]: The reports of the datasets checked.

    Raises:
        ToolError: A dataset is missing, or has problems that make it
            unusable.
    """
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, None, args.data_root)
    loaders = SPLIT_LOADERS[args.split]
    for mode in ('train', 'test'):
        if any(loader.startswith(mode) for loader in loaders):
            check_datasets(cfg, mode, args.config)
    start = time.time()
    evaluators = [
        loader.replace('_dataloader', '_evaluator') for loader in loaders
        if not loader.startswith('train')
    ]
    results = scan_config(cfg, loaders, evaluators, decode=True, progress=True)
    print(f'\nChecked in {time.time() - start:.1f} s:')
    for key, _, report in results:
        if report is None:
            print(f'  {key}: not checked (neither a COCO annotation file '
                  'nor a segmentation file list)')
    reports = unique_reports(results)
    for report in reports:
        lines = summary_lines([report]) or [report.title + ': ok']
        print('\n'.join(f'  {line}' for line in lines))
    if any(r.count(UNDECODABLE_IMAGE) for r in reports):
        print('Images that cannot be decoded are unusable in a validation '
              'or test set; training skips them, up to '
              f'data_checks.max_bad_fraction='
              f'{data_check_settings(cfg)["max_bad_fraction"]:g} '
              'of its images.')
    fatal = sum(p.count for r in reports for p in r.fatal)
    if fatal:
        raise ToolError(f'{fatal} problems make the data unusable (marked '
                        '[unusable] above); fix or remove those files.')
    sys.stdout.flush()
    return reports


if __name__ == '__main__':
    sys.exit(run_tool(main))
