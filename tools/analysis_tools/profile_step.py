# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Profile training steps of a config on real batches with torch.profiler.

    python tools/analysis_tools/profile_step.py CONFIG [--steps 2]
        [--rows 12] [--cfg-options KEY=VALUE ...]

After a warm-up step: the time per step and torch's table of the ops by
self CPU time over ``--steps`` steps (docs/speed.md).
"""
import argparse
import os.path as osp
import sys
import time
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.abspath(osp.join(__file__, '../../..')))  # the clone

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = parser.add_argument
    add('config')
    add('--steps', type=int, default=2)
    add('--rows', type=int, default=12)
    add('--work-dir', default='work_dirs/profile_step')
    add('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options or {})
    import_modules_from_strings(**cfg.get('custom_imports', {}))
    cfg.work_dir = args.work_dir
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    batches = iter(runner.build_dataloader(cfg.train_dataloader))
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.model.train()
    runner.model.train_step(next(batches), optim_wrapper=wrapper)  # warm-up
    with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(args.steps):
            runner.model.train_step(next(batches), optim_wrapper=wrapper)
        seconds = (time.perf_counter() - start) / args.steps
    print(f'{args.config}: {seconds:.2f} s per step (profiled, '
          f'{torch.get_num_threads()} threads, {args.steps} steps)')
    print(prof.key_averages().table(
        sort_by='self_cpu_time_total', row_limit=args.rows))


if __name__ == '__main__':
    main()
