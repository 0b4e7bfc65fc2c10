"""The authors' oracle of tests/data (recorded by
tests/data/record_authors_oracle.py from the original code): its S-arch
weights rebuilt from the rule it stores, with numpy only."""
import json
import os.path as osp

import numpy as np
import torch

DATA = osp.join(osp.dirname(osp.abspath(__file__)), 'data')


def authors_keys() -> dict:
    """``authors_keys.json``: ``arch -> [[key, shape], ...]`` in the order
    of the original ``state_dict()``."""
    with open(osp.join(DATA, 'authors_keys.json')) as f:
        return json.load(f)


def rule_state_dict(entries, rng: np.random.Generator) -> dict:
    """The authors-layout state dict that the recorded ``rule`` describes,
    drawn from ``rng`` in the order of ``entries`` (``[key, shape]``)."""
    sd = {}
    for key, shape in entries:
        shape = tuple(shape)
        if key.endswith('num_batches_tracked'):
            sd[key] = torch.tensor(0)
            continue
        if key.endswith('running_var'):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 1 and key.endswith('weight'):
            value = 1 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            value = 0.1 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        sd[key] = torch.from_numpy(value.astype(np.float32))
    return sd


def s_record():
    """``(state_dict, input, taps)`` of ``authors_outputs_s.npz``: the S
    arch's classifier weights in the authors' layout, the input (float32
    array) and the original wrapper's four outputs (float64 tensors)."""
    with np.load(osp.join(DATA, 'authors_outputs_s.npz')) as f:
        data = {k: f[k] for k in f.files}
    assert 'numpy.random.default_rng(0)' in str(data['rule'])
    rng = np.random.default_rng(0)
    sd = rule_state_dict(authors_keys()['s'], rng)
    x = rng.standard_normal(data['input'].shape).astype(np.float32)
    np.testing.assert_array_equal(x, data['input'])  # the same draws
    taps = [torch.from_numpy(data[f'tap{i}']).double() for i in range(4)]
    return sd, x, taps
