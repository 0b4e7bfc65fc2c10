# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Reading ConvMLP checkpoints: the authors' layout and this project's.

The authors' files (https://github.com/SHI-Labs/Convolutional-MLPs) name the stem
``tokenizer.block.{0..8}``, the conv stage ``conv_stages`` and the MLP sub-layers
``channel_mlp{1,2}``, ``connect`` and ``connect_norm``; classifiers add ``norm`` and
``head``, and the mmdet 2.x / mmseg 0.x files wrap everything under ``state_dict`` with a
``backbone.`` prefix. :func:`convert_convmlp_checkpoint` maps all of these onto
:class:`mmconvmlp.ConvMLP`'s names.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch
import torch.nn as nn

# (pattern, replacement) on original names. None of the patterns matches a converted
# name, which is what makes the conversion idempotent.
_RENAMES = [
    # stem: Sequential(conv, bn, relu) x3 + maxpool -> three ConvModules
    (r'^tokenizer\.block\.(0|3|6)\.', lambda m: f'stem.{int(m.group(1)) // 3}.conv.'),
    (r'^tokenizer\.block\.(1|4|7)\.', lambda m: f'stem.{int(m.group(1)) // 3}.bn.'),
    (r'^conv_stages\.conv_blocks\.(\d+)\.(0|3|6)\.',
     lambda m: f'conv_stage.blocks.{m.group(1)}.layers.{int(m.group(2)) // 3}.conv.'),
    (r'^conv_stages\.conv_blocks\.(\d+)\.(1|4|7)\.',
     lambda m: f'conv_stage.blocks.{m.group(1)}.layers.{int(m.group(2)) // 3}.bn.'),
    (r'^conv_stages\.downsample\.', lambda m: 'conv_stage.downsample.'),
    (r'^(stages\.\d+)\.downsample_mlp\.downsample\.', lambda m: f'{m.group(1)}.downsample.'),
    (r'^(stages\.\d+\.blocks\.\d+)\.channel_mlp(1|2)\.',
     lambda m: f'{m.group(1)}.mlp{m.group(2)}.'),
    (r'^(stages\.\d+\.blocks\.\d+)\.connect_norm\.', lambda m: f'{m.group(1)}.norm_dw.'),
    (r'^(stages\.\d+\.blocks\.\d+)\.connect\.', lambda m: f'{m.group(1)}.dwconv.'),
]
_CLASSIFIER = re.compile(r'^(norm|head)\.')
_WRAPPERS = ('state_dict', 'model')


def convert_convmlp_checkpoint(checkpoint: dict,
                               prefix: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Map a ConvMLP checkpoint onto :class:`mmconvmlp.ConvMLP`'s parameter names.

    A pure function: the input is not modified, and converting its own output again
    returns the same dict.

    Args:
        checkpoint (dict): A plain state dict, or a dict holding one under
            ``'state_dict'`` or ``'model'``; names in the original layout or this
            project's, optionally prefixed by ``module.`` (DDP) and/or ``backbone.``
            (the authors' detection/segmentation files and this project's detectors).
        prefix (str, optional): Keep only the keys under this prefix (for example
            ``'backbone.'``) and strip it. By default ``backbone.`` is selected when
            any key has it, and everything is kept otherwise.

    Returns:
        OrderedDict[str, Tensor]: Backbone tensors under ConvMLP's names. The
        classifier's ``norm.*`` and ``head.*`` entries are dropped.

    Raises:
        TypeError: ``checkpoint`` is not a dict.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'a ConvMLP checkpoint must be a dict, got {type(checkpoint).__name__}')
    state_dict = checkpoint
    for key in _WRAPPERS:
        if key in state_dict and isinstance(state_dict[key], dict):
            state_dict = state_dict[key]
            break
    items = [(k[len('module.'):] if k.startswith('module.') else k, v)
             for k, v in state_dict.items()]
    if prefix is None and any(k.startswith('backbone.') for k, _ in items):
        prefix = 'backbone.'
    if prefix:
        items = [(k[len(prefix):], v) for k, v in items if k.startswith(prefix)]

    out = OrderedDict()
    for key, value in items:
        if _CLASSIFIER.match(key):
            continue
        for pattern, repl in _RENAMES:
            key, n = re.subn(pattern, repl, key)
            if n:
                break
        out[key] = value
    return out


def _short(keys, limit: int = 8) -> str:
    more = f' ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_convmlp_checkpoint(model: nn.Module,
                            filename: str,
                            prefix: Optional[str] = None,
                            map_location: str = 'cpu',
                            sha256: Optional[str] = None
                            ) -> Dict[str, torch.Tensor]:
    """Fill every parameter and buffer of a ConvMLP from a checkpoint, or raise.

    Args:
        model (ConvMLP): The backbone to fill.
        filename (str): Local path or URL (anything MMEngine's ``CheckpointLoader``
            reads).
        prefix (str, optional): See :func:`convert_convmlp_checkpoint`.
        map_location (str): Where to map tensors. Defaults to ``'cpu'``.
        sha256 (str, optional): The file's SHA-256 (as ``sha256sum`` prints
            it); a file that differs is refused. Defaults to None.

    Returns:
        dict[str, Tensor]: The converted state dict that was loaded.

    Raises:
        RuntimeError: The file cannot be read, or it does not fit ``model``: backbone
            weights missing, shapes that differ, or keys that belong to no ConvMLP. The
            message names the keys. Nothing is loaded in that case.
        mmconvmlp.utils.CheckpointError: The file was refused: it holds code
            or classes that weights-only loading does not allow, or it does
            not match ``sha256`` (or the hash in its URL's file name).
    """
    from mmengine.logging import MMLogger
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmconvmlp.utils.safe_load import CheckpointError, resolve_checkpoint
    try:
        checkpoint = CheckpointLoader.load_checkpoint(
            resolve_checkpoint(filename, sha256) if sha256 else filename,
            map_location=map_location, logger='current')
    except CheckpointError:
        raise  # already names the file and the reason
    except Exception as e:  # noqa: BLE001  (re-raised with the file named)
        raise RuntimeError(f'ConvMLP: cannot read checkpoint {filename!r}: '
                           f'{type(e).__name__}: {e}') from e
    try:
        state_dict = convert_convmlp_checkpoint(checkpoint, prefix=prefix)
    except TypeError as e:
        raise RuntimeError(f'ConvMLP: checkpoint {filename!r}: {e}') from e

    expected = model.state_dict()
    # num_batches_tracked only matters for BN momentum=None; files without it still fit.
    missing = [k for k in expected
               if k not in state_dict and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [f'{k} (file {tuple(state_dict[k].shape)}, model {tuple(v.shape)})'
                  for k, v in expected.items()
                  if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if missing or unexpected or mismatched:
        arch = getattr(model, 'arch_settings', None)
        lines = [f'ConvMLP: checkpoint {filename!r} does not fit this backbone '
                 f'(arch {arch}); nothing was loaded.']
        if missing:
            lines.append(f'  {len(missing)} missing keys: {_short(missing)}')
        if mismatched:
            lines.append(f'  {len(mismatched)} shape mismatches: {_short(mismatched, 4)}')
        if unexpected:
            lines.append(f'  {len(unexpected)} unexpected keys: {_short(unexpected)}')
        lines.append('  Check that the file is a ConvMLP checkpoint of the same arch, and '
                     "set init_cfg['prefix'] if its backbone keys carry a prefix other "
                     "than 'backbone.'.")
        raise RuntimeError('\n'.join(lines))
    model.load_state_dict(state_dict, strict=False)
    MMLogger.get_current_instance().info(
        f'ConvMLP: loaded {len(state_dict)} tensors from {filename}')
    return state_dict
