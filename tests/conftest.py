import os
import sys

import pytest

# Deterministic, fast CPU runs whatever the machine.
os.environ.setdefault('OMP_NUM_THREADS', '2')
sys.path.insert(0, os.path.dirname(__file__))


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end checks of several minutes')


@pytest.fixture(autouse=True)
def _seed():
    import torch
    torch.manual_seed(0)
