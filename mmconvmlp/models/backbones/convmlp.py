# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""ConvMLP backbone for dense prediction.

Li, Hassani, Walton, Shi, "ConvMLP: Hierarchical Convolutional MLPs for Vision",
arXiv:2109.04454 (2021). Original code: https://github.com/SHI-Labs/Convolutional-MLPs
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.conv_module import efficient_conv_bn_eval_forward
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model import BaseModule, ModuleList, Sequential
from torch.nn.modules.batchnorm import _BatchNorm

from mmconvmlp.registry import MODELS
from ..utils.checkpoint import load_convmlp_checkpoint


class ChannelMLP(nn.Module):
    """Two-layer MLP over the last (channel) dimension: Linear -> GELU -> Linear.

    On a CPU, a large 4-D (channels-last) input goes through each ``nn.Linear`` as a
    1x1 convolution of the NCHW view of the same memory. oneDNN runs these GEMMs up to
    1.8x faster than the BLAS call behind ``F.linear`` once there are a few thousand
    pixels (ConvMLP-S at 800x1216: 15,200 and 3,800), and slower below about a
    thousand (2 cores, torch 2.13). Same parameters, same result up to float rounding.

    Args:
        dims (int): Input and output channels.
        hidden_dims (int): Hidden channels.

    Shape:
        (..., dims) -> (..., dims)
    """

    # Fewest pixels (N * H * W) for which the 1x1-convolution route is taken.
    min_conv_pixels = 1024

    def __init__(self, dims: int, hidden_dims: int):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.fc2 = nn.Linear(hidden_dims, dims)

    @staticmethod
    def _pointwise(x: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
        y = F.conv2d(x.permute(0, 3, 1, 2), fc.weight[:, :, None, None], fc.bias)
        return y.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Exact (erf) GELU, as in the original.
        if (x.dim() == 4 and x.device.type == 'cpu'
                and x.shape[0] * x.shape[1] * x.shape[2] >= self.min_conv_pixels):
            return self._pointwise(F.gelu(self._pointwise(x, self.fc1)), self.fc2)
        return self.fc2(F.gelu(self.fc1(x)))


def _residual(x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """``x + branch``, written into ``branch`` when no graph is recorded.

    ``branch`` must be a fresh tensor that nothing else holds (a block's last output).
    With autograd on, the sum is a new tensor: a ReLU at the end of ``branch`` keeps its
    output for the backward pass.
    """
    if torch.is_grad_enabled():
        return x + branch
    return branch.add_(x)


class ConvMLPBlock(nn.Module):
    """One Conv-MLP block, channels-last.

    ``x = x + DropPath(MLP1(LN1(x)))``, ``x = DWConv3x3(LN(x))`` (not residual),
    ``x = x + DropPath(MLP2(LN2(x)))``.

    Args:
        dims (int): Channels.
        mlp_ratio (float): Hidden width of the MLPs relative to ``dims``.
        drop_path_rate (float): Stochastic depth rate of both residual branches.

    Shape:
        (N, H, W, dims) -> (N, H, W, dims)
    """

    def __init__(self, dims: int, mlp_ratio: float, drop_path_rate: float = 0.):
        super().__init__()
        hidden = int(dims * mlp_ratio)
        self.norm1 = nn.LayerNorm(dims)
        self.mlp1 = ChannelMLP(dims, hidden)
        self.norm_dw = nn.LayerNorm(dims)
        self.dwconv = nn.Conv2d(dims, dims, 3, padding=1, groups=dims, bias=False)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp2 = ChannelMLP(dims, hidden)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _residual(x, self.drop_path(self.mlp1(self.norm1(x))))
        # A channels-last tensor permuted to NCHW is an NCHW view in channels_last
        # memory format: the depthwise conv reads and writes it without copies.
        x = self.dwconv(self.norm_dw(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return _residual(x, self.drop_path(self.mlp2(self.norm2(x))))


class ConvNormAct(ConvModule):
    """MMCV's ``ConvModule`` (conv - norm - ReLU) that folds an eval-mode BatchNorm.

    With its BatchNorm in eval mode (testing, ``norm_eval``, frozen stages) the norm is
    folded into the conv weights on the fly by MMCV's ``efficient_conv_bn_eval_forward``:
    the same function and parameters, one pass over the feature map fewer, gradients
    still reach the conv and norm parameters. Unlike ``ConvModule``'s own
    ``efficient_conv_bn_eval`` switch it does not patch ``conv.forward`` at run time,
    which ``torch.compile`` rejects. Other norms, and BatchNorm in training mode, run
    as in ``ConvModule``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size (odd); padding ``kernel_size // 2``.
        norm_cfg (dict): The norm layer, as in ``ConvModule`` (the conv has no bias
            when there is a norm).
        stride (int): Stride. Defaults to 1.

    Shape:
        (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 norm_cfg: dict, stride: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=kernel_size // 2, norm_cfg=norm_cfg)

    def forward(self, x: torch.Tensor, activate: bool = True,
                norm: bool = True) -> torch.Tensor:
        # The constructor fixes the order conv - norm - act and zero padding.
        bn = self.norm
        if not (norm and isinstance(bn, _BatchNorm) and not bn.training
                and bn.track_running_stats):
            return super().forward(x, activate, norm)
        x = efficient_conv_bn_eval_forward(bn, self.conv, x)
        return self.activate(x) if activate and self.with_activation else x


class ConvBottleneck(nn.Module):
    """Residual bottleneck of the conv stage: ``x + f(x)``, ReLU inside ``f`` only.

    ``f`` = conv1x1 (C -> hidden) - BN - ReLU - conv3x3 - BN - ReLU - conv1x1 (hidden -> C)
    - BN - ReLU.

    Shape:
        (N, C, H, W) -> (N, C, H, W)
    """

    def __init__(self, channels: int, hidden_channels: int, norm_cfg: dict):
        super().__init__()
        self.layers = Sequential(
            ConvNormAct(channels, hidden_channels, 1, norm_cfg),
            ConvNormAct(hidden_channels, hidden_channels, 3, norm_cfg),
            ConvNormAct(hidden_channels, channels, 1, norm_cfg),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _residual(x, self.layers(x))


class ConvStage(nn.Module):
    """Conv bottlenecks at the stem width, then a stride-2 conv3x3 (with bias).

    Shape:
        (N, C, H, W) -> (N, out_channels, ceil(H/2), ceil(W/2))
    """

    def __init__(self, num_blocks: int, channels: int, hidden_channels: int,
                 out_channels: int, norm_cfg: dict):
        super().__init__()
        self.blocks = ModuleList(
            [ConvBottleneck(channels, hidden_channels, norm_cfg) for _ in range(num_blocks)])
        self.downsample = nn.Conv2d(channels, out_channels, 3, stride=2, padding=1)


class MLPStage(nn.Module):
    """Conv-MLP blocks, then optionally a stride-2 conv3x3 (with bias) to the next width.

    Shape:
        (N, H, W, dims) -> (N, ceil(H/2), ceil(W/2), out_dims), or unchanged without
        downsampling.
    """

    def __init__(self, num_blocks: int, dims: int, mlp_ratio: float,
                 drop_path_rates: Sequence[float], out_dims: Optional[int]):
        super().__init__()
        self.blocks = ModuleList(
            [ConvMLPBlock(dims, mlp_ratio, dpr) for dpr in drop_path_rates[:num_blocks]])
        self.downsample = (
            nn.Conv2d(dims, out_dims, 3, stride=2, padding=1) if out_dims is not None else None)


@MODELS.register_module()
class ConvMLP(BaseModule):
    """ConvMLP backbone (conv tokenizer, conv stage, three Conv-MLP stages).

    A port of the backbone of Li et al., "ConvMLP: Hierarchical Convolutional MLPs for
    Vision", arXiv:2109.04454, https://github.com/SHI-Labs/Convolutional-MLPs. Given the
    same weights it computes the same function as the original detection/segmentation
    backbone, and it loads the authors' checkpoints (see
    :func:`mmconvmlp.models.utils.convert_convmlp_checkpoint`).

    Outputs (index: where it is taken, stride, channels for S / M / L):

    - 0: stem (conv tokenizer) output, stride 4, 64 / 64 / 96;
    - 1: conv stage output (after its downsampling conv), stride 8, 128 / 128 / 192;
    - 2: MLP stage 0 output (after its downsampling conv), stride 16, 256 / 256 / 384;
    - 3: MLP stage 2 output, stride 32, 512 / 512 / 768.

    Every stride-2 op has kernel 3 and padding 1, so any ``H, W`` works and each map is
    ``ceil(size / 2)`` of its input (224 -> 56, 28, 14, 7).

    Args:
        arch (str | dict): ``'s'``, ``'m'``, ``'l'`` (or ``'small'``, ``'medium'``,
            ``'large'``), or a dict with the keys ``stem_channels`` (int),
            ``num_conv_blocks`` (int), ``depths`` (3 ints: MLP blocks per stage),
            ``dims`` (3 ints: stage widths) and ``mlp_ratios`` (3 numbers, or one).
            Defaults to ``'s'``.
        in_channels (int): Channels of the input image. Defaults to 3.
        out_indices (Sequence[int] | int): Outputs to return, from the list above;
            negative indices count from the end. Defaults to ``(0, 1, 2, 3)``.
        frozen_stages (int): Stages whose parameters are frozen and whose BatchNorms stay
            in eval mode: 0 freezes the stem, 1 the stem and the conv stage, 2, 3 and 4
            also the MLP stages 0, 1 and 2. -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep all BatchNorm layers in eval mode while training (frozen
            running statistics). Defaults to False.
        with_cp (bool): Gradient checkpointing of every block (same outputs and
            gradients, less activation memory, more compute). Defaults to False.
        drop_path_rate (float): Largest stochastic depth rate. As in the original, the
            rates run ``linspace(0, drop_path_rate, depth)`` inside each MLP stage
            separately. Defaults to 0.1.
        norm_cfg (dict): Norm layers of the stem and conv stage.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        init_cfg (dict | list[dict], optional): Initialisation. ``None`` gives the
            original scheme (Linear trunc-normal std 0.02, Conv2d Kaiming fan-out,
            norms 1/0). ``dict(type='Pretrained', checkpoint=PATH_OR_URL,
            prefix=None)`` loads a checkpoint in the original or this project's layout
            and raises ``RuntimeError`` if it does not fill every weight.
        pretrained (str, optional): Deprecated alias of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)`` (MMSegmentation's
            ``EncoderDecoder`` passes it).

    Raises:
        ValueError: An unknown ``arch`` name, an arch dict with missing or malformed
            keys, an out-of-range ``out_indices`` or ``frozen_stages``, or (in
            ``forward``) an input that is not ``(N, in_channels, H, W)``.

    Attributes:
        out_channels (tuple[int]): Channels of each returned map.
        out_strides (tuple[int]): Stride of each returned map relative to the input.
    """

    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['s', 'small'], dict(
            stem_channels=64, num_conv_blocks=2, depths=[2, 4, 2],
            dims=[128, 256, 512], mlp_ratios=[2, 2, 2])),
        **dict.fromkeys(['m', 'medium'], dict(
            stem_channels=64, num_conv_blocks=3, depths=[3, 6, 3],
            dims=[128, 256, 512], mlp_ratios=[3, 3, 3])),
        **dict.fromkeys(['l', 'large'], dict(
            stem_channels=96, num_conv_blocks=3, depths=[4, 8, 3],
            dims=[192, 384, 768], mlp_ratios=[3, 3, 3])),
    }
    arch_keys = ('stem_channels', 'num_conv_blocks', 'depths', 'dims', 'mlp_ratios')
    num_outputs = 4
    num_stages = 5  # stem, conv stage, 3 MLP stages (for frozen_stages)

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('ConvMLP: give either `pretrained` or `init_cfg`, not both '
                                 f'(got pretrained={pretrained!r}, init_cfg={init_cfg!r})')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [
                dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
                dict(type='Constant', layer=['LayerNorm', '_BatchNorm'], val=1., bias=0.),
                dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                     nonlinearity='relu', distribution='normal'),
            ]
        super().__init__(init_cfg=init_cfg)

        self.arch_settings = self._parse_arch(arch)
        stem_channels = self.arch_settings['stem_channels']
        depths = self.arch_settings['depths']
        dims = self.arch_settings['dims']
        mlp_ratios = self.arch_settings['mlp_ratios']

        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.drop_path_rate = drop_path_rate

        if not -1 <= frozen_stages <= self.num_stages - 1:
            raise ValueError(f'ConvMLP: frozen_stages must be in [-1, {self.num_stages - 1}], '
                             f'got {frozen_stages}')
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        if not isinstance(out_indices, Sequence) or len(out_indices) == 0:
            raise ValueError('ConvMLP: out_indices must be an int or a non-empty sequence '
                             f'of ints, got {out_indices!r}')
        indices = []
        for i in out_indices:
            if not -self.num_outputs <= i < self.num_outputs:
                raise ValueError(f'ConvMLP: out_indices must be in [-{self.num_outputs}, '
                                 f'{self.num_outputs - 1}], got {list(out_indices)}')
            indices.append(i % self.num_outputs)
        self.out_indices = tuple(sorted(set(indices)))

        h = stem_channels // 2
        self.stem = Sequential(
            ConvNormAct(in_channels, h, 3, norm_cfg, stride=2),
            ConvNormAct(h, h, 3, norm_cfg),
            ConvNormAct(h, stem_channels, 3, norm_cfg),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.conv_stage = ConvStage(self.arch_settings['num_conv_blocks'], stem_channels,
                                    dims[0], dims[0], norm_cfg)
        self.stages = ModuleList()
        for i, depth in enumerate(depths):
            dpr = torch.linspace(0, drop_path_rate, depth).tolist()
            out_dims = dims[i + 1] if i + 1 < len(depths) else None
            self.stages.append(MLPStage(depth, dims[i], mlp_ratios[i], dpr, out_dims))

        all_channels = (stem_channels, dims[0], dims[1], dims[2])
        all_strides = (4, 8, 16, 32)
        self.out_channels = tuple(all_channels[i] for i in self.out_indices)
        self.out_strides = tuple(all_strides[i] for i in self.out_indices)

        self._freeze_stages()

    # ------------------------------------------------------------------ config
    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'ConvMLP: unknown arch {arch!r}; choose one of '
                                 f'{sorted(cls.arch_zoo)} or pass a dict with keys '
                                 f'{list(cls.arch_keys)}')
            return copy.deepcopy(cls.arch_zoo[key])
        if not isinstance(arch, dict):
            raise ValueError(f'ConvMLP: arch must be a str or a dict, got {type(arch).__name__}')
        missing = [k for k in cls.arch_keys if k not in arch]
        if missing:
            raise ValueError(f'ConvMLP: custom arch is missing the keys {missing} '
                             f'(expected {list(cls.arch_keys)}, got {sorted(arch)})')
        settings = {k: copy.deepcopy(arch[k]) for k in cls.arch_keys}
        if isinstance(settings['mlp_ratios'], (int, float)):
            settings['mlp_ratios'] = [settings['mlp_ratios']] * 3
        for k in ('depths', 'dims', 'mlp_ratios'):
            if not isinstance(settings[k], Sequence) or len(settings[k]) != 3:
                raise ValueError(f'ConvMLP: arch[{k!r}] must have 3 entries (one per MLP '
                                 f'stage), got {settings[k]!r}')
        if settings['stem_channels'] % 2:
            raise ValueError('ConvMLP: arch["stem_channels"] must be even, got '
                             f'{settings["stem_channels"]}')
        return settings

    # --------------------------------------------------------------- forward
    def _run(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(module, x, use_reentrant=False)
        return module(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Compute the feature maps.

        Args:
            x (Tensor): Images, shape (N, in_channels, H, W), any H and W.

        Returns:
            tuple[Tensor]: One map per ``out_indices`` entry, shape
            (N, out_channels[i], ceil(H / out_strides[i]), ceil(W / out_strides[i]))
            (rounding up at every stride-2 step). The maps are contiguous NCHW
            tensors: MMCV's CPU ops (``RoIAlign``, ...) read their input's memory as
            NCHW and give wrong results for ``channels_last`` tensors.

        Raises:
            ValueError: ``x`` is not 4-D or has a channel count other than ``in_channels``.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ConvMLP expects images of shape (N, {self.in_channels}, H, W), '
                             f'got a tensor of shape {tuple(x.shape)}')
        # Channels-last end to end: the convs run in oneDNN's preferred layout and the
        # MLP stages need (N, H, W, C) anyway, so no layout change costs a copy.
        x = x.contiguous(memory_format=torch.channels_last)
        outs = []
        x = self._run(self.stem, x)
        if 0 in self.out_indices:
            outs.append(x.contiguous())
        for block in self.conv_stage.blocks:
            x = self._run(block, x)
        x = self.conv_stage.downsample(x)
        if 1 in self.out_indices:
            outs.append(x.contiguous())
        x = x.permute(0, 2, 3, 1).contiguous()  # a view when x is channels_last
        for i, stage in enumerate(self.stages):
            for block in stage.blocks:
                x = self._run(block, x)
            if stage.downsample is not None:
                x = stage.downsample(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).contiguous()
            # Taps of the original: MLP stage 0 and MLP stage 2 (stage 1 is not returned).
            if (i == 0 and 2 in self.out_indices) or (i == 2 and 3 in self.out_indices):
                outs.append(x.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    # ------------------------------------------------------- train / freeze
    def _stage_modules(self) -> List[nn.Module]:
        return [self.stem, self.conv_stage, *self.stages]

    def _freeze_stages(self) -> None:
        for module in self._stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ConvMLP':
        """Set training mode, then re-apply ``frozen_stages`` and ``norm_eval``.

        Returns:
            ConvMLP: ``self``.
        """
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        """Initialise, or load the checkpoint named by a ``Pretrained`` ``init_cfg``.

        Raises:
            RuntimeError: The checkpoint leaves backbone weights unfilled, has weights of
                the wrong shape, or holds keys that belong to no ConvMLP.
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_convmlp_checkpoint(
                self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()
