#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Write the demo datasets in the layouts of COCO 2017 and ADE20K.

    python tools/misc/make_demo_data.py [--out data/demo]
        [--dataset coco|ade20k|all] [--num-train 100] [--num-val 25]
        [--image-size 320] [--seed 0] [--overwrite]

The demo configs in configs/demo/ read ``data/demo/coco/`` and
``data/demo/ade/ADEChallengeData2016/``. A folder holding files this tool did
not write is refused (they are named); ``--overwrite`` replaces the files of
an earlier run, and only those. See ``demo_shapes.py`` beside this file.
"""
import argparse
import os.path as osp
import sys
import time

# Runs from a clone without installing the package, too; demo_shapes.py is
# beside this file.
HERE = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [osp.dirname(osp.dirname(HERE)), HERE]

from demo_shapes import generate_ade20k, generate_coco


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the demo datasets (COCO and '
        'ADE20K layouts) from photographs that ship with '
        'scikit-image and matplotlib.')
    parser.add_argument(
        '--out',
        default='data/demo',
        help='output root (default: '
        'data/demo; COCO goes to OUT/coco, ADE20K to '
        'OUT/ade/ADEChallengeData2016)')
    parser.add_argument(
        '--dataset', choices=['coco', 'ade20k', 'all'], default='all')
    parser.add_argument(
        '--num-train', type=int, default=100, help='training images')
    parser.add_argument(
        '--num-val', type=int, default=25, help='validation images')
    parser.add_argument(
        '--image-size', type=int, default=320, help='image side, pixels')
    parser.add_argument(
        '--max-objects',
        type=int,
        default=3,
        help='objects per image, '
        '1 to this')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace the files an earlier run wrote (only those)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    kwargs = dict(
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        seed=args.seed,
        max_objects=args.max_objects,
        overwrite=args.overwrite)
    try:
        if args.dataset in ('coco', 'all'):
            start, root = time.time(), osp.join(args.out, 'coco')
            counts = generate_coco(root, **kwargs)
            print(f'COCO layout in {root}: {counts["train2017"]} train images '
                  f'({counts["train2017_objects"]} objects), '
                  f'{counts["val2017"]} val images '
                  f'({counts["val2017_objects"]} objects) '
                  f'[{time.time() - start:.1f} s]')
        if args.dataset in ('ade20k', 'all'):
            start, root = time.time(), osp.join(args.out, 'ade',
                                                'ADEChallengeData2016')
            counts = generate_ade20k(root, **kwargs)
            print(f'ADE20K layout in {root}: {counts["training"]} training '
                  f'and {counts["validation"]} validation images '
                  f'[{time.time() - start:.1f} s]')
    except (ValueError, RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
