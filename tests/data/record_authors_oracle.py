#!/usr/bin/env python
"""Record the authors' oracle in tests/data/ from the original ConvMLP code.

The files the backbone tests compare against come from the authors' code,
never from this project's::

    git clone https://github.com/SHI-Labs/Convolutional-MLPs /tmp/convmlp
    git -C /tmp/convmlp checkout 092bf711c7401dd5be03af7121ee58b3419fb9f7
    python tests/data/record_authors_oracle.py /tmp/convmlp --out /tmp/oracle
    python tests/data/record_authors_oracle.py /tmp/convmlp --check tests/data

The original model code (``src/convmlp.py``, ``src/utils/``) is plain
PyTorch: torch and numpy are all it needs (any torch >= 1.8). Its detection
wrapper (``src/detection/__init__.py``, ``DetConvMLP``: the four taps) imports
mmdet 2.x / mmcv 1.x only to register itself, so those imports get empty
stand-ins here and the wrapper's own ``forward`` runs. Nothing of
``mmconvmlp`` is imported.

Written (``--out``):

- ``authors_keys.json``: every ``[key, shape]`` of the full classifier
  ``state_dict()`` of ``convmlp_s``, ``convmlp_m``, ``convmlp_l``, in order.
- ``authors_outputs.npz``: a small custom arch (:data:`SMALL`) with all of
  its tensors (``sd/<key>``), an input, the wrapper's four outputs
  (``tap0`` .. ``tap3``) and the classifier's logits.
- ``authors_outputs_s.npz``: the S arch at its real widths; its weights are
  not stored (34 MB) but drawn by :data:`RULE` in the key order of
  ``authors_keys.json['s']``, which the test repeats with numpy.

``--check DIR`` compares a fresh recording with the files in ``DIR`` (keys
exactly, arrays within 1e-6 relative) and exits 1 on any difference.
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

# tests/oracle.py by its path: the tests' rule, and no other project code.
_SPEC = importlib.util.spec_from_file_location(
    '_oracle',
    osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'oracle.py'))
oracle = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(oracle)

COMMIT = '092bf711c7401dd5be03af7121ee58b3419fb9f7'
SOURCE = (f'github.com/SHI-Labs/Convolutional-MLPs@{COMMIT} (src/convmlp.py: '
          'convmlp_s, convmlp_m, convmlp_l, classifier_head=True)')
#: The small custom arch of authors_outputs.npz (original kwargs).
SMALL = dict(
    blocks=[1, 2, 1],
    dims=[16, 32, 48],
    mlp_ratios=[3, 2, 2],
    channels=16,
    n_conv_blocks=2,
    num_classes=10)
INPUT_SHAPE = (2, 3, 37, 50)
RULE = (
    'numpy.random.default_rng(0), drawn for the floating tensors of the '
    'state_dict in its key order: a key ending in running_var gets '
    'rng.uniform(0.5, 1.5, shape); another 1-D key ending in weight '
    '(BatchNorm/LayerNorm scale) gets 1 + 0.1 * rng.standard_normal(shape); '
    'any other 1-D tensor (bias, running_mean) gets 0.1 * '
    'rng.standard_normal(shape); a tensor of 2 or more dims (conv/linear '
    'weight) gets rng.standard_normal(shape) / sqrt(prod(shape[1:])); every '
    'value is then rounded to float32 (stored as float32, exact in float64); '
    'num_batches_tracked is kept as built (0). Then input = '
    'rng.standard_normal((2, 3, 37, 50)) rounded to float32. The model runs '
    'in float64 in eval mode.')


def import_original(repo: str):
    """``(src.convmlp module, DetConvMLP)`` from a checkout of the original
    repository, with stand-ins for the mmdet 2.x / mmcv 1.x imports of its
    detection wrapper (registration and a logger only)."""

    class _Registry:

        def register_module(self, *args, **kwargs):
            return lambda cls: cls

    stubs = {
        'mmdet': {},
        'mmdet.models': {},
        'mmdet.models.builder': dict(BACKBONES=_Registry()),
        'mmdet.utils': dict(get_root_logger=lambda: None),
        'mmcv': {},
        'mmcv.runner': dict(load_checkpoint=None),
    }
    for name, attrs in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
    sys.path.insert(0, osp.abspath(repo))
    import src.convmlp as convmlp
    from src.detection import DetConvMLP
    assert osp.abspath(convmlp.__file__).startswith(osp.abspath(repo))
    return convmlp, DetConvMLP


def fill(model: torch.nn.Module, rng: np.random.Generator) -> dict:
    """Set every floating tensor of ``model.state_dict()`` by :data:`RULE`
    (``tests/oracle.py``'s ``rule_state_dict``, which the tests repeat);
    returns the state dict as numpy arrays (float32, num_batches_tracked
    int64)."""
    sd = model.state_dict()
    drawn = oracle.rule_state_dict(
        [(k, v.shape) for k, v in sd.items() if v.is_floating_point()], rng)
    for key, value in drawn.items():
        sd[key].copy_(value)
    return {key: tensor.numpy().copy() for key, tensor in sd.items()}


def run(convmlp, DetConvMLP, kwargs: dict, store_weights: bool) -> dict:
    """The classifier of ``kwargs`` filled by :data:`RULE`, then the
    detection wrapper with the same weights, both in float64 eval mode."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    classifier = convmlp.ConvMLP(classifier_head=True, **kwargs)
    sd = fill(classifier, rng)
    x = torch.from_numpy(rng.standard_normal(INPUT_SHAPE).astype(np.float32))
    wrapper = DetConvMLP(**{
        k: v
        for k, v in kwargs.items() if k != 'num_classes'
    })
    backbone = {
        k: torch.from_numpy(v)
        for k, v in sd.items() if not k.startswith(('norm.', 'head.'))
    }
    wrapper.load_state_dict(backbone, strict=True)
    classifier.double().eval()
    wrapper.double().eval()
    with torch.no_grad():
        taps = wrapper(x.double())
        logits = classifier(x.double())
    record = dict(
        arch=np.array(json.dumps(kwargs)),
        rule=np.array(RULE),
        source=np.array(SOURCE),
        input=x.numpy())
    if store_weights:
        record['logits'] = logits.numpy()
    record.update({f'tap{i}': t.numpy() for i, t in enumerate(taps)})
    if store_weights:
        record.update({f'sd/{k}': v for k, v in sd.items()})
    return record


def keys_json(convmlp) -> str:
    """authors_keys.json's text: one ``[key, shape]`` per line."""
    lines = ['{', f'  "source": {json.dumps(SOURCE)},']
    for i, arch in enumerate('sml'):
        model = getattr(convmlp, f'convmlp_{arch}')(classifier_head=True)
        entries = [
            f'    {json.dumps([k, list(v.shape)])}'
            for k, v in model.state_dict().items()
        ]
        lines += [f'  "{arch}": ['] + [',\n'.join(entries)]
        lines.append('  ]' + (',' if i < 2 else ''))
    return '\n'.join(lines + ['}']) + '\n'


def record(repo: str, out: str) -> None:
    convmlp, DetConvMLP = import_original(repo)
    with open(osp.join(out, 'authors_keys.json'), 'w') as f:
        f.write(keys_json(convmlp))
    np.savez_compressed(
        osp.join(out, 'authors_outputs.npz'),
        **run(convmlp, DetConvMLP, SMALL, store_weights=True))
    s_arch = dict(
        blocks=[2, 4, 2],
        dims=[128, 256, 512],
        mlp_ratios=[2, 2, 2],
        channels=64,
        n_conv_blocks=2)
    # convmlp_s's own arguments, checked against its definition below.
    assert convmlp.convmlp_s().state_dict().keys() == convmlp.ConvMLP(
        **s_arch).state_dict().keys()
    s_record = run(convmlp, DetConvMLP, s_arch, store_weights=False)
    # 0.3 MB: the taps kept as float32 (computed in float64).
    s_record.update({
        k: v.astype(np.float32)
        for k, v in s_record.items() if k.startswith('tap')
    })
    np.savez_compressed(osp.join(out, 'authors_outputs_s.npz'), **s_record)


def compare(new: str, old: str) -> list:
    """Differences between two recordings (file names and keys)."""
    problems = []
    with open(osp.join(new, 'authors_keys.json')) as a, open(
            osp.join(old, 'authors_keys.json')) as b:
        if json.load(a) != json.load(b):
            problems.append('authors_keys.json: keys or shapes differ')
    for name in ('authors_outputs.npz', 'authors_outputs_s.npz'):
        if not osp.isfile(osp.join(old, name)):
            problems.append(f'{name}: not in {old}')
            continue
        with np.load(osp.join(new, name)) as a, np.load(osp.join(old,
                                                                 name)) as b:
            if set(a.files) != set(b.files):
                problems.append(f'{name}: entries differ: '
                                f'{sorted(set(a.files) ^ set(b.files))[:5]}')
            for key in sorted(set(a.files) & set(b.files)):
                x, y = a[key], b[key]
                if x.dtype.kind in 'US':
                    same = str(x) == str(y)
                else:
                    same = x.shape == y.shape and np.allclose(
                        x, y, rtol=1e-6, atol=1e-7)
                if not same:
                    problems.append(f'{name}: {key} differs')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('repo', help='checkout of SHI-Labs/Convolutional-MLPs')
    parser.add_argument('--out', help='folder to write the files to')
    parser.add_argument('--check', help='folder of files to compare with')
    args = parser.parse_args(argv)
    head = subprocess.run(['git', '-C', args.repo, 'rev-parse', 'HEAD'],
                          capture_output=True,
                          text=True).stdout.strip()
    if head != COMMIT:
        print(f'warning: {args.repo} is at {head or "?"}, not {COMMIT}')
    out = args.out or tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    record(args.repo, out)
    print(f'recorded into {out}')
    if args.check:
        problems = compare(out, args.check)
        for p in problems:
            print('DIFFERS', p)
        print(f'{args.check}: ' + ('differs' if problems else 'reproduced'))
        return 1 if problems else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
