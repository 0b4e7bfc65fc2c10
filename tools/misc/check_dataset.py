#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Check every file of a config's datasets: parse the annotations, decode
each image and label map, and count label values outside the classes.

    python tools/misc/check_dataset.py CONFIG [--split train|val|test|all]
        [--data-root DIR] [--allow-dropped] [--cfg-options KEY=VALUE ...]

Exits with 1 when a file failed or the dropped annotations would stop
``tools/train.py`` (docs/data_checks.md).
"""
import argparse
import os.path as osp
import sys
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

from mmconvmlp.utils import (ToolError, add_common_args, build_dataset,
                             check_data, iter_datasets, load_config, run_tool)
from mmconvmlp.utils.annotations import dropped_problem

LOADERS = ['train_dataloader', 'val_dataloader', 'test_dataloader']
SPLITS = dict(
    train=LOADERS[:1], val=LOADERS[1:2], test=LOADERS[2:], all=LOADERS)


def main(argv=None) -> int:
    """Decode every file; a ToolError names the bad files."""
    import mmcv
    import numpy as np
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('config')
    add('--split', choices=list(SPLITS), default='all')
    add_common_args(parser)
    args = parser.parse_args(argv)
    cfg = load_config(args)
    bad, seen = [], set()
    for key, ann, found in check_data(
            cfg, 'train' if args.split in ('train', 'val') else 'test', True):
        for reason, items in found['dropped'].items():
            print('\n'.join(f'{key}: {ann}: annotation {a} of image {i} {f}: '
                            f'{reason}' for a, i, f in items))
        problem = dropped_problem(found)
        if problem and not args.allow_dropped:
            bad.append(f'{key}: {ann}: {problem} (tools/train.py stops here '
                       'without --allow-dropped)')
    for loader in SPLITS[args.split]:
        for key, ds in iter_datasets((cfg.get(loader) or {}).get('dataset'),
                                     loader):
            dataset = build_dataset(cfg, ds)
            classes = len(dataset.metainfo.get('classes', ()))
            ignore = ds.get('ignore_index', 255)
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                if info['img_path'] in seen:
                    continue
                seen.add(info['img_path'])
                try:
                    mmcv.imread(info['img_path']).shape
                except Exception as e:  # noqa: BLE001  (any decode error)
                    bad.append(
                        f'{key}: {info["img_path"]}: not an image ({e})')
                if not info.get('seg_map_path'):
                    continue
                seg = mmcv.imread(info['seg_map_path'], 'unchanged')
                if seg is None:
                    bad.append(f'{key}: {info["seg_map_path"]}: not a PNG')
                    continue
                if info.get('reduce_zero_label'):
                    seg = np.where(seg == 0, 255, seg.astype(int) - 1)
                values = np.unique(seg)
                wrong = values[(values >= classes) & (values != ignore)]
                if len(wrong):
                    bad.append(f'{key}: {info["seg_map_path"]}: label values '
                               f'{wrong.tolist()[:5]} outside 0..'
                               f'{classes - 1} and ignore {ignore}')
    print(f'{len(seen)} images checked, {len(bad)} problems')
    if bad:
        raise ToolError('\n'.join(bad[:50]))
    return 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
