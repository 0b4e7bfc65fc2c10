# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Compare finished runs: metrics, speed and parameters, with the spread.

    python tools/analysis_tools/compare_runs.py WORK_DIR [WORK_DIR ...]

Per run: the last validation's metrics, the mean ``time`` per iteration
(less the first, start-up window), the wall time of its log and the model's
parameters; runs ``<name>_seed<N>`` also get a row of means ± half range.
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys
from collections import defaultdict
from datetime import datetime

sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import numpy as np
from mmengine.config import Config

from mmconvmlp.utils import build_model

STAMP = re.compile(r'^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)')
METRICS = {  # scalars.json key: column
    'coco/bbox_mAP': 'bbox AP',
    'coco/bbox_mAP_50': 'bbox AP50',
    'coco/segm_mAP': 'segm AP',
    'coco/segm_mAP_50': 'segm AP50',
    'mIoU': 'mIoU',
}


def read_run(work_dir):
    """The scalars and wall seconds of the newest run that validated."""
    for scalars in sorted(
            glob.glob(osp.join(work_dir, '*/vis_data/'
                               'scalars.json')))[::-1]:
        with open(scalars) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if any(key in row for row in rows for key in METRICS):
            run_dir = osp.dirname(osp.dirname(scalars))
            log = osp.join(run_dir, osp.basename(run_dir) + '.log')
            with open(log) as f:
                stamps = [m.group(1) for m in map(STAMP.match, f) if m]
            times = [datetime.strptime(s, '%Y/%m/%d %H:%M:%S') for s in stamps]
            return rows, (times[-1] - times[0]).total_seconds()
    raise SystemExit(f'{work_dir}: no run with a validation in its logs')


def summarise(work_dir):
    """{column: value} of one run."""
    rows, wall = read_run(work_dir)
    metrics = [r for r in rows if any(k in r for k in METRICS)][-1]
    train = [r for r in rows if 'loss' in r]
    speed = [r['time'] for r in train[1:]] or [train[0]['time']]
    # the parameters of the model of the config the run saved
    cfg = Config.fromfile(sorted(glob.glob(osp.join(work_dir, '*.py')))[0])
    params = sum(p.numel() for p in build_model(cfg).parameters())
    values = {col: metrics[k] for k, col in METRICS.items() if k in metrics}
    values.update({
        's/iter': sum(speed) / len(speed),
        'iters': train[-1]['step'],
        'wall min': wall / 60,
        'params M': params / 1e6
    })
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    args = parser.parse_args(argv)
    runs = {
        osp.basename(osp.normpath(d)): summarise(d)
        for d in args.work_dirs
    }
    columns = list(dict.fromkeys(c for v in runs.values() for c in v))
    groups = defaultdict(list)
    for name, values in runs.items():
        groups[re.sub(r'_seed\d+$', '', name)].append(values)
    lines = [
        f'| run | {" | ".join(columns)} |', '|---' * (len(columns) + 1) + '|'
    ]

    def cell(values, col):
        found = [v[col] for v in values if col in v]
        if not found:
            return ''
        fmt = '{:.0f}' if col == 'iters' else '{:.2f}' if col in (
            's/iter', 'wall min', 'params M', 'mIoU') else '{:.3f}'
        text = fmt.format(np.mean(found))
        if len(found) > 1 and max(found) > min(found):
            text += ' ± ' + fmt.format((max(found) - min(found)) / 2)
        return text

    rows = [(name, [values]) for name, values in runs.items()]
    rows += [(f'**{name}** (mean ± half range, {len(v)} runs)', v)
             for name, v in groups.items() if len(v) > 1]
    lines += [
        f'| {name} | ' + ' | '.join(cell(v, c) for c in columns) + ' |'
        for name, v in rows
    ]
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
