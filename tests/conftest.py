"""Shared fixtures and settings of the test suite."""
import importlib.util
import logging
import os
import os.path as osp
import sys
import tempfile

import pytest

# Deterministic, fast CPU runs whatever the machine.
os.environ.setdefault('OMP_NUM_THREADS', '2')
# torch.compile's kernels in a cache of this session only: Inductor's shared
# cache (/tmp/torchinductor_<user>) would hand kernels compiled under one
# ATEN_CPU_CAPABILITY to a run under another, which aborts.
os.environ.setdefault('TORCHINDUCTOR_CACHE_DIR',
                      tempfile.mkdtemp(prefix='mmconvmlp-inductor-'))

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True)
def _seed():
    import torch
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def repo_root() -> str:
    """The repository's root folder (configs/ and tools/ are below it)."""
    return REPO


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory) -> str:
    """A tiny dataset in the COCO 2017 layout (4 train, 2 val images)."""
    from mmconvmlp.testing.data import generate_tiny_coco
    return generate_tiny_coco(str(tmp_path_factory.mktemp('data') / 'coco'))


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory) -> str:
    """A tiny dataset in the ADEChallengeData2016 layout (4 train, 2 val
    images)."""
    from mmconvmlp.testing.data import generate_tiny_ade20k
    return generate_tiny_ade20k(
        str(tmp_path_factory.mktemp('data') / 'ADEChallengeData2016'))


@pytest.fixture(scope='session')
def tool_main():
    """``tool_main(name, argv)`` runs ``tools/<name>.py``'s ``main`` in this
    process, as its ``__main__`` block does, and returns the exit status.
    ``name`` may name a subfolder: ``'analysis_tools/get_flops'``."""
    from mmconvmlp.utils import run_tool
    modules = {}

    def run(name: str, argv) -> int:
        # MMEngine's loggers outlive a run and keep the stdout they were made
        # with; under pytest's capture that stream is closed after the test.
        from mmengine.logging import MMLogger
        for logger in MMLogger._instance_dict.values():
            for handler in logger.handlers:
                if type(handler) is logging.StreamHandler:
                    # setStream would flush the closed one
                    handler.stream = sys.stdout
        if name not in modules:
            path = osp.join(REPO, 'tools', f'{name}.py')
            module_name = '_tool_' + name.replace('/', '_')
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules[name] = module
        return run_tool(modules[name].main, list(argv))

    return run


@pytest.fixture(scope='session')
def _pristine_tiny_coco(tmp_path_factory):
    from mmconvmlp.testing.data import generate_tiny_coco
    return generate_tiny_coco(str(tmp_path_factory.mktemp('data') / 'coco'))


@pytest.fixture
def tiny_coco(_pristine_tiny_coco, tmp_path):
    """A fresh copy of :func:`generate_tiny_coco`'s dataset (4 training and
    2 validation images of 128x128), for a test to break."""
    import shutil
    return shutil.copytree(_pristine_tiny_coco, tmp_path / 'coco')


@pytest.fixture
def inductor_isa_consistent():
    """Skip where torch.compile's CPU code is known to be wrong for a reason
    outside this project: ``ATEN_CPU_CAPABILITY`` restricting an AVX-512 CPU
    to AVX2 kernels (the way to try AVX2 on an AVX-512 machine). Inductor then
    vectorises its kernels for AVX2 and, with torch 2.13 at two threads,
    returns NaN for ConvMLP (also for the backbone of version 0.1.0) while
    eager mode is right. Unrestricted runs, on AVX2-only and AVX-512 CPUs
    alike, keep the check."""
    from mmconvmlp.utils.cpu import cpu_info
    capability = os.environ.get('ATEN_CPU_CAPABILITY', '').lower()
    if capability and not capability.startswith('avx512') and \
            'AVX-512' in cpu_info()['hardware_isa']:
        pytest.skip('torch.compile on an AVX-512 CPU restricted to '
                    f'ATEN_CPU_CAPABILITY={capability}: Inductor is wrong '
                    'there (torch 2.13)')
