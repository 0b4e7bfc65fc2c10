# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""ConvMLP backbone for dense prediction.

Li, Hassani, Walton, Shi, "ConvMLP: Hierarchical Convolutional MLPs for
Vision", arXiv:2109.04454 (2021). Original code:
https://github.com/SHI-Labs/Convolutional-MLPs
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model import BaseModule, ModuleList, Sequential
from torch.nn.modules.batchnorm import _BatchNorm

from mmconvmlp.registry import MODELS
from ..utils.checkpoint import load_backbone_checkpoint
from ..utils.ckpt_convert import convert_state_dict_keys


def _maybe_checkpoint(fn, x: torch.Tensor, with_cp: bool) -> torch.Tensor:
    """``fn(x)``; with ``with_cp`` while recording a graph, checkpointed."""
    if with_cp and torch.is_grad_enabled():
        return cp.checkpoint(fn, x, use_reentrant=False)
    return fn(x)


class ChannelMLP(nn.Module):
    """Linear -> GELU (exact, erf) -> Linear over the channels of an
    (N, H, W, C) tensor.

    With ``linear_pw_conv=False`` the same ``nn.Linear`` parameters run as
    1x1 convolutions on the NCHW view of the same channels-last memory
    (oneDNN on CPUs); the function is the same.
    """

    def __init__(self,
                 dims: int,
                 hidden_dims: int,
                 linear_pw_conv: bool = True):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.fc2 = nn.Linear(hidden_dims, dims)
        self.linear_pw_conv = linear_pw_conv

    @staticmethod
    def _conv1x1(x: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
        y = F.conv2d(
            x.permute(0, 3, 1, 2), fc.weight[:, :, None, None], fc.bias)
        return y.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.linear_pw_conv:
            return self.fc2(F.gelu(self.fc1(x)))
        return self._conv1x1(F.gelu(self._conv1x1(x, self.fc1)), self.fc2)


class ConvMLPBlock(nn.Module):
    """One Conv-MLP block on (N, H, W, C) tensors:
    ``x + DropPath(MLP1(LN1(x)))``, then ``DWConv3x3(LN(x))`` (not residual,
    as in the original), then ``x + DropPath(MLP2(LN2(x)))``."""

    def __init__(self,
                 dims: int,
                 mlp_ratio: float,
                 drop_path_rate: float = 0.,
                 linear_pw_conv: bool = True):
        super().__init__()
        hidden = int(dims * mlp_ratio)
        self.norm1 = nn.LayerNorm(dims)
        self.mlp1 = ChannelMLP(dims, hidden, linear_pw_conv)
        self.norm_dw = nn.LayerNorm(dims)
        self.dwconv = nn.Conv2d(
            dims, dims, 3, padding=1, groups=dims, bias=False)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp2 = ChannelMLP(dims, hidden, linear_pw_conv)
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.mlp1(self.norm1(x)))
        # NHWC permuted to NCHW is a channels-last NCHW view: no copy.
        x = self.dwconv(self.norm_dw(x).permute(0, 3, 1, 2))
        x = x.permute(0, 2, 3, 1)
        return x + self.drop_path(self.mlp2(self.norm2(x)))


class ConvBottleneck(nn.Module):
    """``x + f(x)``, ``f`` = conv1x1 - BN - ReLU - conv3x3 - BN - ReLU -
    conv1x1 - BN - ReLU (no ReLU after the sum), NCHW."""

    def __init__(self, channels: int, hidden_channels: int, norm_cfg: dict):
        super().__init__()
        self.layers = Sequential(
            ConvModule(channels, hidden_channels, 1, norm_cfg=norm_cfg),
            ConvModule(
                hidden_channels,
                hidden_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg),
            ConvModule(hidden_channels, channels, 1, norm_cfg=norm_cfg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class ConvTokenizer(Sequential):
    """The stem: three conv3x3 - BN - ReLU (strides 2, 1, 1; the first two
    with ``channels // 2`` outputs), then a 3x3 max-pool of stride 2:
    (N, C_in, H, W) -> (N, channels, ceil(H / 4), ceil(W / 4))."""

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 norm_cfg: dict,
                 with_cp: bool = False):
        half = channels // 2
        super().__init__(
            *(ConvModule(
                cin, cout, 3, stride=stride, padding=1, norm_cfg=norm_cfg)
              for cin, cout, stride in ((in_channels, half, 2),
                                        (half, half, 1), (half, channels, 1))),
            nn.MaxPool2d(3, stride=2, padding=1))
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _maybe_checkpoint(super().forward, x, self.with_cp
                                 and self.training)


class ConvStage(nn.Module):
    """Conv bottlenecks at the stem width, then a stride-2 conv3x3 with bias:
    (N, C, H, W) -> (N, out_channels, ceil(H / 2), ceil(W / 2))."""

    def __init__(self,
                 num_blocks: int,
                 channels: int,
                 hidden_channels: int,
                 out_channels: int,
                 norm_cfg: dict,
                 with_cp: bool = False):
        super().__init__()
        self.blocks = ModuleList([
            ConvBottleneck(channels, hidden_channels, norm_cfg)
            for _ in range(num_blocks)
        ])
        self.downsample = nn.Conv2d(
            channels, out_channels, 3, stride=2, padding=1)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = _maybe_checkpoint(block, x, self.with_cp and self.training)
        return self.downsample(x)


class MLPStage(nn.Module):
    """Conv-MLP blocks on the (N, H, W, C) view of an NCHW channels-last
    input (free), then a stride-2 conv3x3 with bias to ``out_dims`` (None:
    none, the last stage)."""

    def __init__(self,
                 num_blocks: int,
                 dims: int,
                 mlp_ratio: float,
                 drop_path_rates: Sequence[float],
                 out_dims: Optional[int],
                 with_cp: bool = False,
                 linear_pw_conv: bool = True):
        super().__init__()
        self.blocks = ModuleList([
            ConvMLPBlock(dims, mlp_ratio, dpr, linear_pw_conv)
            for dpr in drop_path_rates[:num_blocks]
        ])
        self.downsample = (
            nn.Conv2d(dims, out_dims, 3, stride=2, padding=1)
            if out_dims is not None else nn.Identity())
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            x = _maybe_checkpoint(block, x, self.with_cp and self.training)
        return self.downsample(x.permute(0, 3, 1, 2))


_ARCH_KEYS = ('stem_channels', 'num_conv_blocks', 'depths', 'dims',
              'mlp_ratios')
# The paper's presets (Table 1), in the order of _ARCH_KEYS.
_PRESETS = {
    ('s', 'small'): (64, 2, [2, 4, 2], [128, 256, 512], [2, 2, 2]),
    ('m', 'medium'): (64, 3, [3, 6, 3], [128, 256, 512], [3, 3, 3]),
    ('l', 'large'): (96, 3, [4, 8, 3], [192, 384, 768], [3, 3, 3]),
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@MODELS.register_module()
class ConvMLP(BaseModule):
    """ConvMLP backbone: conv tokenizer, conv stage, three Conv-MLP stages.

    A port of the backbone of Li et al., "ConvMLP: Hierarchical Convolutional
    MLPs for Vision", arXiv:2109.04454,
    https://github.com/SHI-Labs/Convolutional-MLPs. With the same weights it
    computes the function of the original detection/segmentation backbone.
    Any state dict loaded into it, through any loader, may use the authors'
    key names: a load-state-dict pre-hook converts them
    (:func:`mmconvmlp.models.utils.convert_key`) and drops the classifier's
    ``norm.*``/``head.*``.

    Outputs (index: where taken, stride, channels for S / M / L):

    - 0: stem output, stride 4, 64 / 64 / 96;
    - 1: conv stage output (after its downsampling conv), stride 8,
      128 / 128 / 192;
    - 2: MLP stage 0 output (after its downsampling conv), stride 16,
      256 / 256 / 384;
    - 3: MLP stage 2 output, stride 32, 512 / 512 / 768.

    Every stride-2 op has kernel 3 and padding 1, so any ``H, W`` works and
    each map is ``ceil(size / 2)`` of its input (224 -> 56, 28, 14, 7).

    Args:
        arch (str | dict): ``'s'``, ``'m'``, ``'l'`` (or ``'small'``,
            ``'medium'``, ``'large'``), or a dict with the keys
            ``stem_channels`` (even int), ``num_conv_blocks`` (int),
            ``depths`` (3 ints), ``dims`` (3 ints) and ``mlp_ratios``
            (3 numbers, or one). Defaults to ``'s'``.
        in_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int] | int): Outputs to return (list above);
            negative indices count from the end. Defaults to (0, 1, 2, 3).
        frozen_stages (int): Stages frozen (no gradients, BN in eval mode):
            0 the stem, 1 also the conv stage, 2-4 also MLP stages 0-2;
            -1 none. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of the stem and every block.
            Defaults to False.
        drop_path_rate (float): Largest stochastic depth rate, in [0, 1);
            as in the original the rates run ``linspace(0, rate, depth)``
            inside each MLP stage. Defaults to 0.1.
        linear_pw_conv (bool): Channel MLPs as ``nn.Linear`` (True) or as
            1x1 convolutions with the same parameters (False, faster on
            CPUs); see :class:`ChannelMLP`. Defaults to True.
        norm_cfg (dict): Norm layers of the stem and conv stage.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        init_cfg (dict | list[dict], optional): None gives the original
            initialisation (Linear trunc-normal std 0.02, Conv2d Kaiming
            fan-out, norms 1/0). ``dict(type='Pretrained', checkpoint=PATH_OR
            _URL, prefix=None, sha256=None)`` loads a checkpoint of either
            layout weights-only and refuses one that does not fill every
            backbone tensor.
        pretrained (str, optional): Deprecated alias of a ``Pretrained``
            ``init_cfg`` (MMSegmentation's ``EncoderDecoder`` passes it).

    Raises:
        ValueError: An unknown ``arch`` or a malformed arch dict;
            ``in_channels`` < 1; ``out_indices`` not ints in range;
            ``frozen_stages`` out of range; ``drop_path_rate`` outside [0, 1);
            both ``pretrained`` and ``init_cfg``; or (in ``forward``) an input
            that is not a non-empty ``(N, in_channels, H, W)`` tensor of the
            weights' dtype.

    Attributes:
        out_channels (tuple[int]): Channels of each returned map.
        feature_info (list[dict]): Per output (all four): ``num_chs``,
            ``reduction`` (stride) and ``module``, as in timm.
    """

    arch_keys = _ARCH_KEYS
    arch_zoo: Dict[str, dict] = {
        name: dict(zip(_ARCH_KEYS, copy.deepcopy(values)))
        for names, values in _PRESETS.items()
        for name in names
    }
    # The stages in order (frozen_stages counts them) and the outputs of the
    # original wrappers: (stage taken after, stride). MLP stage 1 is not one.
    stage_names = ('stem', 'conv_stage', 'stages.0', 'stages.1', 'stages.2')
    output_taps = (('stem', 4), ('conv_stage', 8), ('stages.0', 16),
                   ('stages.2', 32))
    converts_authors_keys = True  # read by check_state_dict

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.1,
                 linear_pw_conv: bool = True,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError(
                    'ConvMLP: give either `pretrained` or `init_cfg`, not '
                    f'both (got pretrained={pretrained!r}, '
                    f'init_cfg={init_cfg!r})')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [
                dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
                dict(
                    type='Constant',
                    layer=['LayerNorm', '_BatchNorm'],
                    val=1.,
                    bias=0.),
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu',
                    distribution='normal'),
            ]
        super().__init__(init_cfg=init_cfg)

        self.arch_settings = self._parse_arch(arch)
        stem_channels, num_conv_blocks, depths, dims, mlp_ratios = (
            self.arch_settings[k] for k in self.arch_keys)
        if not _is_int(in_channels) or in_channels < 1:
            raise ValueError('ConvMLP: in_channels must be an int >= 1, got '
                             f'{in_channels!r}')
        n = len(self.stage_names)
        if not _is_int(frozen_stages) or not -1 <= frozen_stages < n:
            raise ValueError(f'ConvMLP: frozen_stages must be an int in '
                             f'[-1, {n - 1}], got {frozen_stages!r}')
        if (isinstance(drop_path_rate, bool)
                or not isinstance(drop_path_rate, (int, float))
                or not 0 <= drop_path_rate < 1):
            raise ValueError('ConvMLP: drop_path_rate must be a number in '
                             f'[0, 1), got {drop_path_rate!r}')
        self.out_indices = self._parse_out_indices(out_indices)
        self.in_channels, self.frozen_stages = in_channels, frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.drop_path_rate, self.linear_pw_conv = (drop_path_rate,
                                                    linear_pw_conv)

        self.stem = ConvTokenizer(in_channels, stem_channels, norm_cfg,
                                  with_cp)
        self.conv_stage = ConvStage(num_conv_blocks, stem_channels, dims[0],
                                    dims[0], norm_cfg, with_cp)
        self.stages = ModuleList()
        for i, depth in enumerate(depths):
            dpr = torch.linspace(
                0, drop_path_rate, depth, device='cpu').tolist()
            out_dims = dims[i + 1] if i + 1 < len(depths) else None
            self.stages.append(
                MLPStage(depth, dims[i], mlp_ratios[i], dpr, out_dims, with_cp,
                         linear_pw_conv))

        channels = dict(
            zip(self.stage_names,
                (stem_channels, dims[0], dims[1], dims[2], dims[2])))
        self.feature_info = [
            dict(num_chs=channels[name], reduction=stride, module=name)
            for name, stride in self.output_taps
        ]
        self.out_channels = tuple(self.feature_info[i]['num_chs']
                                  for i in self.out_indices)
        taps = {self.output_taps[i][0] for i in self.out_indices}
        self._returned = tuple(name in taps for name in self.stage_names)

        self.register_load_state_dict_pre_hook(_convert_keys_hook)
        self._freeze_stages()

    @classmethod
    def _parse_out_indices(cls, out_indices) -> Tuple[int, ...]:
        """Sorted, de-duplicated, non-negative output indices."""
        if _is_int(out_indices):
            out_indices = [out_indices]
        n = len(cls.output_taps)
        if (isinstance(out_indices, (str, bytes))
                or not isinstance(out_indices, Sequence) or not out_indices
                or not all(_is_int(i) and -n <= i < n for i in out_indices)):
            raise ValueError(
                'ConvMLP: out_indices must be an int or a non-empty sequence '
                f'of ints in [-{n}, {n - 1}], got {out_indices!r}')
        return tuple(sorted({i % n for i in out_indices}))

    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in cls.arch_zoo:
                raise ValueError(
                    f'ConvMLP: unknown arch {arch!r}; choose one of '
                    f'{sorted(cls.arch_zoo)} or pass a dict with keys '
                    f'{list(cls.arch_keys)}')
            return copy.deepcopy(cls.arch_zoo[arch.lower()])
        if not isinstance(arch, dict):
            raise ValueError('ConvMLP: arch must be a str or a dict, got '
                             f'{type(arch).__name__}')
        missing = [k for k in cls.arch_keys if k not in arch]
        if missing:
            raise ValueError(
                f'ConvMLP: custom arch is missing the keys {missing} '
                f'(expected {list(cls.arch_keys)}, got {sorted(arch)})')
        settings = {k: copy.deepcopy(arch[k]) for k in cls.arch_keys}
        if isinstance(settings['mlp_ratios'], (int, float)):
            settings['mlp_ratios'] = [settings['mlp_ratios']] * 3
        for k in ('depths', 'dims', 'mlp_ratios'):
            if not isinstance(settings[k], Sequence) or len(settings[k]) != 3:
                raise ValueError(
                    f'ConvMLP: arch[{k!r}] must have 3 entries (one per MLP '
                    f'stage), got {settings[k]!r}')
        for k in ('stem_channels', 'num_conv_blocks'):
            if not _is_int(settings[k]) or settings[k] < 1:
                raise ValueError(f'ConvMLP: arch[{k!r}] must be an int >= 1,'
                                 f' got {settings[k]!r}')
        if settings['stem_channels'] % 2:
            raise ValueError('ConvMLP: arch["stem_channels"] must be even, '
                             f'got {settings["stem_channels"]}')
        return settings

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Compute the feature maps.

        Args:
            x (Tensor): Images (N, in_channels, H, W), N, H, W >= 1, of the
                weights' dtype (any float dtype under autocast).

        Returns:
            tuple[Tensor]: One contiguous NCHW map per ``out_indices`` entry,
            (N, out_channels[i], ceil(H / s), ceil(W / s)) for its stride s
            (rounding up at every stride-2 step). Contiguous because MMCV's
            CPU ops (``RoIAlign``, ...) read their input's memory as NCHW.

        Raises:
            ValueError: ``x`` is not a non-empty (N, in_channels, H, W)
                tensor, or (outside autocast) not of the weights' dtype.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.numel() == 0:
            raise ValueError(f'ConvMLP expects images of shape (N, '
                             f'{self.in_channels}, H, W), N, H, W >= 1, got '
                             f'{tuple(x.shape)}')
        dtype = self.stem[0].conv.weight.dtype
        if x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
            raise ValueError(f"ConvMLP expects images of its weights' dtype "
                             f'{dtype} (normalised floats), got {x.dtype}')
        # Channels-last: the MLP stages read (N, H, W, C) views of it.
        x = x.contiguous(memory_format=torch.channels_last)
        outs = []
        for stage, returned in zip(self._stage_modules(), self._returned):
            x = stage(x)
            if returned:
                outs.append(x.contiguous())
        return tuple(outs)

    def _stage_modules(self) -> List[nn.Module]:
        return [self.stem, self.conv_stage, *self.stages]

    def _freeze_stages(self) -> None:
        for module in self._stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ConvMLP':
        """Set the mode, re-apply ``frozen_stages`` and ``norm_eval``;
        returns ``self``."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def init_weights(self) -> None:
        """Initialise, or load a ``Pretrained`` ``init_cfg``'s checkpoint
        (raises :class:`~mmconvmlp.models.utils.CheckpointError` for a file
        that is unreadable, holds code, misses its SHA-256 pin or does not
        fill every backbone tensor)."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_backbone_checkpoint(
                self,
                cfg['checkpoint'],
                prefix=cfg.get('prefix'),
                sha256=cfg.get('sha256'))
            self.is_init = True  # BaseModule: not initialised again
            return
        super().init_weights()


def _convert_keys_hook(module, state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: the authors' names -> this module's."""
    convert_state_dict_keys(state_dict, prefix)
