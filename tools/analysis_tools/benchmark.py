#!/usr/bin/env python
# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""CPU benchmark of ConvMLP against ResNet-50 and Swin-T (backbones, RetinaNet and
Semantic FPN, with_cp training memory), at a fixed thread count, in one process.

    python tools/benchmark.py [--json] [--quick] [--only {backbones,models,memory} ...]
        [--sizes HxW ...] [--batch N ...] [--repeats N] [--warmup N] [--threads N]
        [--dtypes {fp32,bf16} ...] [--backbones NAME ...] [--det-size HxW]
        [--seg-size HxW] [--model-batch N] [--gemm-sizes N ...]

Prints Markdown tables (or JSON with ``--json``) on stdout and progress on stderr.
See :mod:`mmconvmlp.benchmark` for what is measured and how.
"""
import os.path as osp
import sys
import warnings

# mmengine imports pkg_resources, which warns on every start.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# Runs from a clone without installing the package, too.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmconvmlp.benchmark import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
