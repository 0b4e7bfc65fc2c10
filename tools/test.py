#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Test a checkpoint of a detector or segmentor config; prints COCO mAP or mIoU.

    python tools/test.py configs/retinanet_convmlp_s_coco.py CHECKPOINT
        [--work-dir DIR] [--out FILE_OR_DIR] [--show] [--show-dir DIR]
        [--wait-time S] [--data-root DIR] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

The config's ``default_scope`` decides between MMDetection and MMSegmentation;
see :mod:`mmconvmlp.apis.tools` for what the tool adds to the stock ones.
"""
import os.path as osp
import sys
import warnings

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmconvmlp.apis import test_main  # noqa: E402

if __name__ == '__main__':
    sys.exit(test_main())
