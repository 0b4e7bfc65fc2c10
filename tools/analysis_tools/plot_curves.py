#!/usr/bin/env python
"""Plot the training curves of one or more work dirs.

    python tools/analysis_tools/plot_curves.py WORK_DIR [WORK_DIR ...]
        [--keys loss coco/bbox_mAP] [--out curves.png]

A panel per key, a line per work dir, from every
``WORK_DIR/*/vis_data/scalars.json``; matplotlib, not seaborn; an ``--out``
the project did not write is not replaced (docs/curves.md).
"""
import argparse
import glob
import json
import os.path as osp
import sys

import matplotlib

matplotlib.use('Agg')  # files only, no display needed
import matplotlib.pyplot as plt

sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

from mmconvmlp.utils import OutputError, output_file

#: Drawn without ``--keys``: the loss and the main metric of each task.
DEFAULT_KEYS = ('loss', 'coco/bbox_mAP', 'coco/segm_mAP', 'mIoU')


def read_scalars(work_dir):
    """``{key: ([step], [value])}``; SystemExit if there is no log."""
    files = sorted(glob.glob(osp.join(work_dir, '*/vis_data/scalars.json')))
    if not files:
        sys.exit(f'error: no */vis_data/scalars.json under {work_dir}')
    curves = {}
    for path in files:
        with open(path) as f:
            for record in map(json.loads, filter(str.strip, f)):
                for key, value in record.items():
                    if key != 'step' and isinstance(value, (int, float)):
                        steps, values = curves.setdefault(key, ([], []))
                        steps.append(record['step'])
                        values.append(value)
    return curves


def main(argv=None):
    """Draw the picture and return its path."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('work_dirs', nargs='+', metavar='WORK_DIR')
    add('--keys', nargs='+', help='default: loss and mAP/mIoU')
    add('--out', default='curves.png', help='picture file')
    args = parser.parse_args(argv)
    runs = {d: read_scalars(d) for d in args.work_dirs}
    logged = sorted({k for curves in runs.values() for k in curves})
    keys = args.keys or [k for k in DEFAULT_KEYS if k in logged]
    missing = [k for k in keys if k not in logged]
    if not keys or missing:
        sys.exit(f'error: {missing or DEFAULT_KEYS} not logged; logged: '
                 f'{logged}')
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, key in zip(axes if len(keys) > 1 else [axes], keys):
        for work_dir, curves in runs.items():
            name = osp.basename(osp.abspath(work_dir))
            if key in curves:
                ax.plot(*curves[key], marker='.', label=name)
        ax.set(title=key, xlabel='step')
        ax.legend()
    fig.tight_layout()
    try:
        output_file(args.out, 'tools/analysis_tools/plot_curves.py')
    except OutputError as e:
        sys.exit(f'error: {e}')
    fig.savefig(args.out)
    print(f'{", ".join(keys)} of {len(runs)} work dir(s): {args.out}')
    return args.out


if __name__ == '__main__':
    main()
