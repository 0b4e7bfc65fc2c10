#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Compare finished detection runs: AP, AP50, speed and parameters.

    python tools/analysis_tools/compare_runs.py WORK_DIR [WORK_DIR ...]

Per work directory: the last validation's ``coco/bbox_mAP`` and
``coco/bbox_mAP_50`` and the mean ``time`` per iteration (the first logged
window, which holds the start-up, left out) from MMEngine's
``vis_data/scalars.json``; the wall time from the first to the last line of
the run's log; the parameters of the model built from the config the run
saved (``sum(p.numel())``).
"""
import argparse
import glob
import json
import os.path as osp
import re
from datetime import datetime

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

STAMP = re.compile(r'^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)')


def read_run(work_dir):
    """The scalars and wall seconds of the newest run that validated."""
    for scalars in sorted(
            glob.glob(osp.join(work_dir, '*/vis_data/'
                               'scalars.json')))[::-1]:
        with open(scalars) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if any('coco/bbox_mAP' in row for row in rows):
            run_dir = osp.dirname(osp.dirname(scalars))
            log = osp.join(run_dir, osp.basename(run_dir) + '.log')
            with open(log) as f:
                stamps = [m.group(1) for m in map(STAMP.match, f) if m]
            times = [datetime.strptime(s, '%Y/%m/%d %H:%M:%S') for s in stamps]
            return rows, (times[-1] - times[0]).total_seconds()
    raise SystemExit(f'{work_dir}: no run with coco/bbox_mAP in its logs')


def count_params(work_dir):
    config = sorted(glob.glob(osp.join(work_dir, '*.py')))[0]
    cfg = Config.fromfile(config)
    import_modules_from_strings(**cfg.get('custom_imports', {}))
    init_default_scope(cfg.default_scope)
    import mmdet.models  # noqa: F401  (registers the detectors)
    from mmdet.registry import MODELS
    return sum(p.numel() for p in MODELS.build(cfg.model).parameters())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    args = parser.parse_args(argv)
    head = ('run', 'bbox AP', 'AP50', 's/iter', 'iters', 'wall min',
            'params M')
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for work_dir in args.work_dirs:
        rows, wall = read_run(work_dir)
        metrics = [r for r in rows if 'coco/bbox_mAP' in r][-1]
        train = [r for r in rows if 'loss' in r]
        speed = [r['time'] for r in train[1:]] or [train[0]['time']]
        values = (osp.basename(osp.normpath(work_dir)),
                  f"{metrics['coco/bbox_mAP']:.3f}",
                  f"{metrics['coco/bbox_mAP_50']:.3f}",
                  f'{sum(speed) / len(speed):.2f}', str(train[-1]['step']),
                  f'{wall / 60:.1f}', f'{count_params(work_dir) / 1e6:.2f}')
        lines.append('| ' + ' | '.join(values) + ' |')
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
