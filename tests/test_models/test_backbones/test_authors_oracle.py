"""ConvMLP against data recorded once from the authors' original code.

``tests/data/authors_keys.json`` lists, for the classifiers ``convmlp_s``,
``convmlp_m`` and ``convmlp_l`` of github.com/SHI-Labs/Convolutional-MLPs
(the commit is in its ``source`` field), every ``[key, shape]`` of the full
``state_dict()`` in order. ``tests/data/authors_outputs.npz`` holds a small
custom arch of the original ``ConvMLP`` class: its constructor kwargs
(``arch``, JSON), all of its state_dict tensors under their original names
(``sd/<key>``; the fill rule is the string ``rule``), an input (``input``),
the four outputs of the original detection/segmentation wrapper
(``tap0`` .. ``tap3``, NCHW) and the classifier logits (``logits``), all
computed in float64 by the original code. ``tests/data/authors_outputs_s.npz``
holds the same for the S arch at its real widths, without its weights
(drawn by the rule it stores, in the key order of ``authors_keys.json``).
``tests/data/record_authors_oracle.py`` recorded all three files from the
original code and re-audits them (its docstring says how).
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracle import s_record

from mmconvmlp.models import ConvMLP

DATA = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data')
KEYS_FILE = osp.join(DATA, 'authors_keys.json')
OUTPUTS_FILE = osp.join(DATA, 'authors_outputs.npz')

# Backbone parameters (no classifier LayerNorm/Linear), in millions.
PARAMS_M = dict(s=8.51, m=16.90, l=41.96)
# Entries of the authors' full classifier state_dict.
NUM_KEYS = dict(s=184, m=262, l=307)
# The original constructor's kwargs -> ConvMLP's arch dict keys.
ARCH_KEYS = dict(
    channels='stem_channels',
    n_conv_blocks='num_conv_blocks',
    blocks='depths',
    dims='dims',
    mlp_ratios='mlp_ratios')


def _is_classifier(key):
    return key.startswith(('norm.', 'head.'))


@pytest.fixture(scope='module')
def authors_keys():
    with open(KEYS_FILE) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def authors_outputs():
    with np.load(OUTPUTS_FILE) as data:
        return {k: data[k] for k in data.files}


def _authors_state_dict(entries, seed=0):
    """A state dict in the authors' layout with a distinct value per tensor.

    Args:
        entries (list): ``[key, shape]`` pairs, in order.
        seed (int): Seed of the ``torch.Generator``.

    Returns:
        dict: Keys to tensors: standard normal floats, except the BatchNorm
        ``num_batches_tracked`` counters, which get the distinct integers
        1, 2, ... (so no two tensors are equal).
    """
    gen = torch.Generator().manual_seed(seed)
    sd, count = {}, 0
    for key, shape in entries:
        if key.endswith('num_batches_tracked'):
            count += 1
            sd[key] = torch.tensor(count, dtype=torch.long)
        else:
            sd[key] = torch.randn(shape, generator=gen)
    return sd


def _fingerprint(tensor):
    return (tensor.dtype, tuple(tensor.shape),
            tensor.detach().contiguous().numpy().tobytes())


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_loads_every_authors_tensor_once(arch, authors_keys):
    entries = authors_keys[arch]
    assert len(entries) == NUM_KEYS[arch]
    sd = _authors_state_dict(entries)
    backbone = {k: v for k, v in sd.items() if not _is_classifier(k)}
    assert len(backbone) == len(sd) - 4  # norm.{weight,bias}, head.*

    model = ConvMLP(arch=arch)
    model.load_state_dict(sd)  # strict: authors' names, classifier dropped
    loaded = model.state_dict()
    assert len(loaded) == len(backbone)

    by_value = {}
    for name, tensor in loaded.items():
        by_value.setdefault(_fingerprint(tensor), []).append(name)
    matched = set()
    for key, tensor in backbone.items():
        names = by_value.get(_fingerprint(tensor), [])
        assert len(names) == 1, f'{key}: loaded as {names}'
        assert torch.equal(loaded[names[0]], tensor), key
        matched.add(names[0])
    assert matched == set(loaded)


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_backbone_param_count(arch):
    n = sum(p.numel() for p in ConvMLP(arch=arch).parameters())
    assert round(n / 1e6, 2) == PARAMS_M[arch]


def test_outputs_equal_the_original(authors_outputs):
    data = authors_outputs
    kwargs = json.loads(str(data['arch']))
    arch = {new: kwargs[old] for old, new in ARCH_KEYS.items()}
    sd = {
        k[len('sd/'):]: torch.from_numpy(v)
        for k, v in data.items() if k.startswith('sd/')
    }
    model = ConvMLP(arch=arch, out_indices=(0, 1, 2, 3), drop_path_rate=0.)
    model.load_state_dict(sd)
    model.double().eval()
    x = torch.from_numpy(data['input']).double()
    with torch.no_grad():
        outs = model(x)
    assert len(outs) == 4
    for i, out in enumerate(outs):
        expected = torch.from_numpy(data[f'tap{i}'])
        torch.testing.assert_close(
            out, expected, rtol=1e-5, atol=1e-6, msg=lambda m: f'tap{i}: {m}')

    # The classifier of the original on output 3 (the last stage, before its
    # LayerNorm) gives the recorded logits.
    feats = outs[3].flatten(2).transpose(1, 2)
    feats = F.layer_norm(feats, feats.shape[-1:], sd['norm.weight'].double(),
                         sd['norm.bias'].double())
    logits = F.linear(
        feats.mean(1), sd['head.weight'].double(), sd['head.bias'].double())
    torch.testing.assert_close(
        logits, torch.from_numpy(data['logits']), rtol=1e-5, atol=1e-6)


def test_s_outputs_equal_the_original_on_the_configs_route():
    """The S arch at its real widths, with the channel MLPs as 1x1
    convolutions (``linear_pw_conv=False``, as the configs build it)."""
    sd, x, taps = s_record()
    model = ConvMLP(arch='s', linear_pw_conv=False, drop_path_rate=0.)
    model.load_state_dict(sd)  # authors' names; classifier dropped
    model.double().eval()
    with torch.no_grad():
        outs = model(torch.from_numpy(x).double())
    assert len(outs) == 4
    for i, (out, expected) in enumerate(zip(outs, taps)):
        # The taps are stored as float32.
        torch.testing.assert_close(
            out, expected, rtol=1e-5, atol=1e-5, msg=lambda m: f'tap{i}: {m}')
