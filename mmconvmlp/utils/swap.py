# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Put ConvMLP into an existing MMDetection / MMSegmentation config.

The config-file way (see the README) is a ``_base_`` line, ``custom_imports``,
a ``backbone=dict(_delete_=True, type='mmconvmlp.ConvMLP', ...)`` and the
neck's ``in_channels``. :func:`swap_backbone` does the same on a loaded
:class:`mmengine.config.Config`, and also fixes the parts that depend on the
backbone: the neck's (or, without a neck, the decode/auxiliary heads')
``in_channels``, MMSegmentation's ``model.pretrained`` and the input
normalisation the ImageNet weights were trained with.
"""
import copy
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config, ConfigDict

from mmconvmlp.models import ConvMLP

IMAGENET_CHECKPOINTS = {
    arch:
    'https://shi-labs.com/projects/convmlp/checkpoints/'
    f'convmlp_{arch}_imagenet.pth'
    for arch in ('s', 'm', 'l')
}
# ImageNet statistics (RGB, 0-255) the authors' classifiers were trained with.
IMAGENET_NORM = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)


def convmlp_out_channels(
    arch: Union[str, dict] = 's',
    out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3)
) -> tuple:
    """Channels of the maps a ConvMLP returns, without allocating its weights.

    Args:
        arch (str | dict): As in :class:`mmconvmlp.ConvMLP`.
        out_indices (int | Sequence[int]): As in :class:`mmconvmlp.ConvMLP`.

    Returns:
        tuple[int]: ``ConvMLP(arch, out_indices=out_indices).out_channels``.

    Raises:
        ValueError: What :class:`mmconvmlp.ConvMLP` raises for these arguments.
    """
    # Shapes only: no memory, no initialisation cost.
    with torch.device('meta'):
        return ConvMLP(arch, out_indices=out_indices).out_channels


def head_in_channels(head: dict, channels: Sequence[int]):
    """The ``in_channels`` a decode/auxiliary head needs for the backbone maps
    it reads (its ``in_index``), in the form the head has them (a list or one
    int).

    Args:
        head (dict): The head's config (``in_index`` defaults to -1).
        channels (Sequence[int]): Channels of every map the backbone returns.

    Returns:
        list[int] | int: The channels of the selected map(s).

    Raises:
        IndexError: ``in_index`` selects a map the backbone does not return.
    """
    in_index = head.get('in_index', -1)
    if isinstance(in_index, (list, tuple)):
        return [channels[i] for i in in_index]
    if isinstance(head.get('in_channels'), (list, tuple)):
        return [channels[in_index]] * len(head['in_channels'])
    return channels[in_index]


def _fix_head(head: dict, channels: tuple) -> None:
    """Set a decode/auxiliary head's input channels from the maps it reads."""
    if head.get('in_channels') is not None or isinstance(
            head.get('in_index'), (list, tuple)):
        head['in_channels'] = head_in_channels(head, channels)
    if 'c1_in_channels' in head:
        # DeepLabV3+: the low-level branch reads map 0.
        head['c1_in_channels'] = channels[0]


def swap_backbone(cfg: Union[Config, ConfigDict, dict],
                  arch: str = 's',
                  pretrained: Union[bool, str, None] = True,
                  **backbone_kwargs) -> Union[Config, ConfigDict, dict]:
    """Replace the backbone of a detector or segmentor config by ConvMLP.

    The whole ``model.backbone`` dict is replaced (no key of the old backbone,
    such as ResNet's ``depth`` or ``style``, survives), and everything that
    depended on it is adjusted:

    - the neck's ``in_channels`` (FPN, PAFPN, ChannelMapper, ...) become the
      backbone's ``out_channels``; without a neck (UPerNet, DeepLabV3+, ...)
      each ``decode_head``/``auxiliary_head`` gets the channels of the maps its
      ``in_index`` selects (and DeepLabV3+'s ``c1_in_channels`` those of map
      0);
    - ``model.pretrained`` (MMSegmentation) is set to None;
    - the data preprocessor normalises with the ImageNet RGB statistics the
      ConvMLP weights expect (caffe-style configs use BGR and other values);
    - ``mmconvmlp`` is added to ``custom_imports``.

    Head widths, strides, schedules and datasets are left as they are.

    Args:
        cfg (Config | dict): A full config (with ``model``), modified in place.
        arch (str): ``'s'``, ``'m'`` or ``'l'``. Defaults to ``'s'``.
        pretrained (bool | str | None): True loads the authors' ImageNet
            weights for ``arch`` (by URL); a string names another checkpoint
            (path or URL); False or None leaves the backbone randomly
            initialised. Defaults to True.
        **backbone_kwargs: Further :class:`mmconvmlp.ConvMLP` arguments
            (``out_indices``, ``drop_path_rate``, ``frozen_stages``, ...).

    Returns:
        Config | dict: ``cfg`` itself.

    Raises:
        KeyError: ``cfg`` has no ``model.backbone``.

    Example:
        >>> from mmengine.config import Config
        >>> cfg = Config.fromfile('faster-rcnn_r50_fpn_1x_coco.py')
        >>> swap_backbone(cfg, arch='s')
        >>> cfg.model.neck.in_channels
        [64, 128, 256, 512]
    """
    model = cfg['model']
    if 'backbone' not in model:
        raise KeyError(
            'swap_backbone: the config has no model.backbone to replace')
    # The authors' file names use the one-letter names of the presets.
    arch = {
        'small': 's',
        'medium': 'm',
        'large': 'l'
    }.get(str(arch).lower(),
          str(arch).lower())
    out_indices = backbone_kwargs.get('out_indices', (0, 1, 2, 3))
    channels = convmlp_out_channels(arch, out_indices)

    if pretrained is True:
        pretrained = IMAGENET_CHECKPOINTS[arch]
    init_cfg: Optional[dict] = (
        dict(type='Pretrained', checkpoint=pretrained) if pretrained else None)
    model['backbone'] = ConfigDict(
        type='mmconvmlp.ConvMLP',
        arch=arch,
        init_cfg=init_cfg,
        **backbone_kwargs)
    if 'pretrained' in model:
        model['pretrained'] = None

    neck = model.get('neck')
    first_neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    if isinstance(first_neck, dict) and 'in_channels' in first_neck:
        if isinstance(first_neck['in_channels'], (list, tuple)):
            first_neck['in_channels'] = list(channels)
        else:
            # Single-input necks (e.g. YOLOF's DilatedEncoder) read the last
            # map.
            first_neck['in_channels'] = channels[-1]
    elif not neck:
        for key in ('decode_head', 'auxiliary_head'):
            heads = model.get(key)
            for head in (heads if isinstance(heads,
                                             (list, tuple)) else [heads]):
                if isinstance(head, dict):
                    _fix_head(head, channels)

    preprocessor = model.get('data_preprocessor')
    if isinstance(preprocessor, dict) and 'mean' in preprocessor:
        preprocessor.update(copy.deepcopy(IMAGENET_NORM))

    imports = cfg.get('custom_imports') or dict(
        imports=[], allow_failed_imports=False)
    names = imports.get('imports', [])
    names = [names] if isinstance(names, str) else list(names)
    if 'mmconvmlp' not in names:
        names.append('mmconvmlp')
    imports['imports'] = names
    cfg['custom_imports'] = imports
    return cfg
