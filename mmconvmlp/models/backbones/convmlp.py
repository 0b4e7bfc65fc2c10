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
from mmcv.cnn.bricks.conv_module import efficient_conv_bn_eval_forward
from mmcv.cnn.bricks.drop import DropPath
from mmengine.model import BaseModule, ModuleList, Sequential
from torch.nn.modules.batchnorm import _BatchNorm

from mmconvmlp.registry import MODELS
from mmconvmlp.utils.cpu import cpu_capability
from ..utils.checkpoint import convert_state_dict_keys, load_convmlp_checkpoint

#: Fewest pixels (N * H * W) for which :class:`ChannelMLP` runs its Linear
#: layers as oneDNN 1x1 convolutions on a CPU, per vector ISA of torch's
#: kernels (:func:`mmconvmlp.utils.cpu_capability`); see docs/speed.md for the
#: measurements.
CONV_MIN_PIXELS = {'AVX512': 1024, 'AVX2': 1024}


def default_conv_min_pixels() -> int:
    """The measured :data:`CONV_MIN_PIXELS` entry of this CPU's ISA (AVX2's for
    any ISA that is not AVX-512)."""
    isa = cpu_capability().upper()
    return CONV_MIN_PIXELS['AVX512' if isa.startswith('AVX512') else 'AVX2']


def _pointwise_dilation() -> int:
    """Dilation of :class:`ChannelMLP`'s 1x1 convolutions: 2 on one thread,
    else (and in traces) 1.

    Dilation changes nothing for a 1x1 kernel, but torch runs an undilated,
    unstrided 1x1 convolution through its native im2col kernel instead of
    oneDNN when it has one thread, 2-3x slower (AMD EPYC with AVX-512;
    ConvMLP-S on one thread, these convs and the folded 1x1s of the conv
    stage dilated: 800x1216 737 -> 585 ms, 224x224 batch 8 267 -> 200 ms).
    Traces keep the plain 1x1.
    """
    single = torch.get_num_threads() == 1
    return 2 if single and not torch.jit.is_tracing() else 1


class ChannelMLP(nn.Module):
    """Two-layer MLP over the last (channel) dimension: Linear -> GELU ->
    Linear.

    The GELU is the exact (erf) one, as in the original. On a CPU, a 4-D
    channels-last input of at least ``conv_min_pixels`` pixels runs each
    ``nn.Linear`` as a 1x1 convolution of the NCHW view of the same memory
    (oneDNN), smaller ones through ``F.linear`` (BLAS): same parameters, same
    function up to float rounding, whichever is faster at that size. While
    traced (``torch.jit.trace``, ``torch.onnx.export(..., dynamo=False)``)
    the pixel count is symbolic, so the route is not read from it: a CPU
    trace always takes the 1x1 convolution (which ONNX Runtime runs fastest,
    its transposes folded away), whatever the size of the example input.
    Either route gives the same result, so a traced or exported model is
    correct at every input size.

    Args:
        dims (int): Input and output channels.
        hidden_dims (int): Hidden channels.
        conv_min_pixels (int, optional): Fewest pixels ``N * H * W`` for the
            1x1 convolution route; 0 always takes it, a huge number never. None
            (the default) uses the value measured for this CPU's ISA
            (:data:`CONV_MIN_PIXELS`).

    Shape:
        (..., dims) -> (..., dims)
    """

    def __init__(self,
                 dims: int,
                 hidden_dims: int,
                 conv_min_pixels: Optional[int] = None):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.fc2 = nn.Linear(hidden_dims, dims)
        self.conv_min_pixels = (
            default_conv_min_pixels()
            if conv_min_pixels is None else int(conv_min_pixels))

    @staticmethod
    def _pointwise(x: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
        y = F.conv2d(
            x.permute(0, 3, 1, 2),
            fc.weight[:, :, None, None],
            fc.bias,
            dilation=_pointwise_dilation())
        return y.permute(0, 2, 3, 1)

    def _conv_route(self, x: torch.Tensor) -> bool:
        if x.dim() != 4 or x.device.type != 'cpu':
            return False
        if torch.jit.is_tracing():
            # A branch on the symbolic size would freeze the example's route
            # (with a TracerWarning); pick one that does not depend on it.
            return True
        return x.shape[0] * x.shape[1] * x.shape[2] >= self.conv_min_pixels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._conv_route(x):
            return self._pointwise(
                F.gelu(self._pointwise(x, self.fc1)), self.fc2)
        return self.fc2(F.gelu(self.fc1(x)))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _residual(x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """``x + branch``, written into ``branch`` when no graph is recorded.

    ``branch`` must be a fresh tensor that nothing else holds (a block's last
    output). With autograd on, the sum is a new tensor: a ReLU at the end of
    ``branch`` keeps its output for the backward pass.
    """
    if torch.is_grad_enabled():
        return x + branch
    return branch.add_(x)


class ConvMLPBlock(nn.Module):
    """One Conv-MLP block, channels-last.

    ``x = x + DropPath(MLP1(LN1(x)))``, ``x = DWConv3x3(LN(x))`` (not
    residual), ``x = x + DropPath(MLP2(LN2(x)))``.

    Args:
        dims (int): Channels.
        mlp_ratio (float): Hidden width of the MLPs relative to ``dims``.
        drop_path_rate (float): Stochastic depth rate of both residual
            branches. Defaults to 0.
        conv_min_pixels (int, optional): See :class:`ChannelMLP`.

    Shape:
        (N, H, W, dims) -> (N, H, W, dims)
    """

    def __init__(self,
                 dims: int,
                 mlp_ratio: float,
                 drop_path_rate: float = 0.,
                 conv_min_pixels: Optional[int] = None):
        super().__init__()
        hidden = int(dims * mlp_ratio)
        self.norm1 = nn.LayerNorm(dims)
        self.mlp1 = ChannelMLP(dims, hidden, conv_min_pixels)
        self.norm_dw = nn.LayerNorm(dims)
        self.dwconv = nn.Conv2d(
            dims, dims, 3, padding=1, groups=dims, bias=False)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp2 = ChannelMLP(dims, hidden, conv_min_pixels)
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _residual(x, self.drop_path(self.mlp1(self.norm1(x))))
        # A channels-last tensor permuted to NCHW is an NCHW view in
        # channels_last memory format: the depthwise conv reads and writes it
        # without copies.
        x = self.dwconv(self.norm_dw(x).permute(0, 3, 1,
                                                2)).permute(0, 2, 3, 1)
        return _residual(x, self.drop_path(self.mlp2(self.norm2(x))))


class _Dilated1x1:
    """A 1x1 convolution's parameters, run with dilation 2 (the same
    function; see :func:`_pointwise_dilation`). What MMCV's
    ``efficient_conv_bn_eval_forward`` reads of a conv."""

    def __init__(self, conv: nn.Conv2d):
        self.conv, self.weight, self.bias = conv, conv.weight, conv.bias

    def _conv_forward(self, x: torch.Tensor, weight: torch.Tensor,
                      bias: Optional[torch.Tensor]) -> torch.Tensor:
        c = self.conv
        return F.conv2d(x, weight, bias, c.stride, c.padding, 2, c.groups)


class ConvNormAct(ConvModule):
    """MMCV's ``ConvModule`` (conv - norm - ReLU) that folds an eval-mode
    BatchNorm.

    With its BatchNorm in eval mode (testing, ``norm_eval``, frozen stages) the
    norm is folded into the conv weights on the fly by MMCV's
    ``efficient_conv_bn_eval_forward``: the same function and parameters, one
    pass over the feature map fewer, gradients still reach the conv and norm
    parameters. Unlike ``ConvModule``'s own ``efficient_conv_bn_eval`` switch
    it does not patch ``conv.forward`` at run time, which ``torch.compile``
    rejects. Other norms, and BatchNorm in training mode, run as in
    ``ConvModule``. A folded 1x1 conv on one thread runs with dilation 2 (see
    :func:`_pointwise_dilation`).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size (odd); padding
            ``kernel_size // 2``.
        norm_cfg (dict): The norm layer, as in ``ConvModule`` (the conv has no
            bias when there is a norm).
        stride (int): Stride. Defaults to 1.

    Shape:
        (N, in_channels, H, W) ->
        (N, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 norm_cfg: dict,
                 stride: int = 1):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            norm_cfg=norm_cfg)

    def forward(self,
                x: torch.Tensor,
                activate: bool = True,
                norm: bool = True) -> torch.Tensor:
        # The constructor fixes the order conv - norm - act and zero padding.
        bn = self.norm
        if not (norm and isinstance(bn, _BatchNorm) and not bn.training
                and bn.track_running_stats):
            return super().forward(x, activate, norm)
        conv = self.conv
        if conv.kernel_size == (1, 1) and _pointwise_dilation() == 2:
            conv = _Dilated1x1(conv)
        x = efficient_conv_bn_eval_forward(bn, conv, x)
        return self.activate(x) if activate and self.with_activation else x


class ConvBottleneck(nn.Module):
    """Residual bottleneck of the conv stage: ``x + f(x)``, ReLU inside ``f``
    only.

    ``f`` = conv1x1 (C -> hidden) - BN - ReLU - conv3x3 - BN - ReLU - conv1x1
    (hidden -> C) - BN - ReLU.

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


def _run(module: nn.Module, x: torch.Tensor, with_cp: bool) -> torch.Tensor:
    """``module(x)``, through gradient checkpointing when asked and a graph is
    recorded (same outputs and gradients, activations recomputed in
    backward)."""
    if with_cp and module.training and torch.is_grad_enabled():
        return cp.checkpoint(module, x, use_reentrant=False)
    return module(x)


class ConvTokenizer(Sequential):
    """The stem: three conv3x3 - BN - ReLU (stride 2, 1, 1; no conv bias), then
    a 3x3 max-pool of stride 2.

    Args:
        in_channels (int): Image channels.
        channels (int): Output channels (the first two convs have half as
            many).
        norm_cfg (dict): The norm layers.
        with_cp (bool): Gradient checkpointing of the whole stem. Defaults to
            False.

    Shape:
        (N, in_channels, H, W) -> (N, channels, ceil(H / 4), ceil(W / 4))
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 norm_cfg: dict,
                 with_cp: bool = False):
        half = channels // 2
        super().__init__(
            ConvNormAct(in_channels, half, 3, norm_cfg, stride=2),
            ConvNormAct(half, half, 3, norm_cfg),
            ConvNormAct(half, channels, 3, norm_cfg),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and self.training and torch.is_grad_enabled():
            return cp.checkpoint(super().forward, x, use_reentrant=False)
        return super().forward(x)


class ConvStage(nn.Module):
    """Conv bottlenecks at the stem width, then a stride-2 conv3x3 (with bias).

    Args:
        num_blocks (int): Bottlenecks.
        channels (int): Input (stem) channels.
        hidden_channels (int): Width inside the bottlenecks.
        out_channels (int): Channels after the downsampling conv.
        norm_cfg (dict): The norm layers.
        with_cp (bool): Gradient checkpointing of each bottleneck. Defaults to
            False.

    Shape:
        (N, channels, H, W) -> (N, out_channels, ceil(H / 2), ceil(W / 2))
    """

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
            x = _run(block, x, self.with_cp)
        return self.downsample(x)


class MLPStage(nn.Module):
    """Conv-MLP blocks, then optionally a stride-2 conv3x3 (with bias) to the
    next width.

    Takes and returns NCHW tensors; the blocks run on the (N, H, W, C) view,
    which costs no copy when the input is in ``channels_last`` memory format
    (as :class:`ConvMLP` keeps it).

    Args:
        num_blocks (int): Conv-MLP blocks.
        dims (int): Channels of the blocks.
        mlp_ratio (float): Hidden width of the channel MLPs relative to
            ``dims``.
        drop_path_rates (Sequence[float]): Stochastic depth rate of each block.
        out_dims (int, optional): Channels after the downsampling conv; None
            for a stage without one.
        with_cp (bool): Gradient checkpointing of each block. Defaults to
            False.
        conv_min_pixels (int, optional): See :class:`ChannelMLP`.

    Shape:
        (N, dims, H, W) -> (N, out_dims, ceil(H / 2), ceil(W / 2)), or
        unchanged without downsampling.
    """

    def __init__(self,
                 num_blocks: int,
                 dims: int,
                 mlp_ratio: float,
                 drop_path_rates: Sequence[float],
                 out_dims: Optional[int],
                 with_cp: bool = False,
                 conv_min_pixels: Optional[int] = None):
        super().__init__()
        self.blocks = ModuleList([
            ConvMLPBlock(dims, mlp_ratio, dpr, conv_min_pixels)
            for dpr in drop_path_rates[:num_blocks]
        ])
        self.downsample = (
            nn.Conv2d(dims, out_dims, 3, stride=2, padding=1)
            if out_dims is not None else None)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3,
                      1).contiguous()  # a view when x is channels_last
        for block in self.blocks:
            x = _run(block, x, self.with_cp)
        x = x.permute(0, 3, 1, 2)  # NCHW view of channels-last memory
        return self.downsample(x) if self.downsample is not None else x


@MODELS.register_module()
class ConvMLP(BaseModule):
    """ConvMLP backbone (conv tokenizer, conv stage, three Conv-MLP stages).

    A port of the backbone of Li et al., "ConvMLP: Hierarchical Convolutional
    MLPs for Vision", arXiv:2109.04454,
    https://github.com/SHI-Labs/Convolutional-MLPs. Given the same weights it
    computes the same function as the original detection/segmentation backbone,
    and it loads the authors' checkpoints: any state dict loaded into it (by
    itself or inside a detector/segmentor, through any loader) may name its
    keys in the authors' layout (see
    :func:`mmconvmlp.models.utils.convert_key`).

    Outputs (index: where it is taken, stride, channels for S / M / L):

    - 0: stem (conv tokenizer) output, stride 4, 64 / 64 / 96;
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
            ``stem_channels`` (int), ``num_conv_blocks`` (int), ``depths``
            (3 ints: MLP blocks per stage), ``dims`` (3 ints: stage widths)
            and ``mlp_ratios`` (3 numbers, or one). Defaults to ``'s'``.
        in_channels (int): Channels of the input image. Defaults to 3.
        out_indices (Sequence[int] | int): Outputs to return, from the list
            above; negative indices count from the end. Defaults to
            ``(0, 1, 2, 3)``.
        frozen_stages (int): Stages whose parameters are frozen and whose
            BatchNorms stay in eval mode: 0 freezes the stem, 1 the stem and
            the conv stage, 2, 3 and 4 also the MLP stages 0, 1 and 2. -1
            freezes nothing. Defaults to -1.
        norm_eval (bool): Keep all BatchNorm layers in eval mode while training
            (frozen running statistics). Defaults to False.
        with_cp (bool): Gradient checkpointing of the stem and of every block
            (same outputs and gradients, less activation memory, more compute);
            sets the ``with_cp`` of every stage. Defaults to False.
        drop_path_rate (float): Largest stochastic depth rate, in [0, 1). As in
            the original, the rates run ``linspace(0, drop_path_rate, depth)``
            inside each MLP stage separately. Defaults to 0.1.
        norm_cfg (dict): Norm layers of the stem and conv stage.
            Defaults to ``dict(type='BN', requires_grad=True)``.
        conv_min_pixels (int, optional): Fewest pixels (N * H * W) for which
            the channel MLPs run as oneDNN 1x1 convolutions on a CPU instead of
            BLAS ``F.linear``; the same function either way. None uses the
            value measured for this CPU's ISA (:data:`CONV_MIN_PIXELS`).
            Defaults to None.
        init_cfg (dict | list[dict], optional): Initialisation. ``None`` gives
            the original scheme (Linear trunc-normal std 0.02, Conv2d Kaiming
            fan-out, norms 1/0).
            ``dict(type='Pretrained', checkpoint=PATH_OR_URL, prefix=None)``
            loads a checkpoint in the original or this project's layout and
            raises ``RuntimeError`` if it does not fill every weight.
        pretrained (str, optional): Deprecated alias of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``
            (MMSegmentation's ``EncoderDecoder`` passes it).

    Raises:
        ValueError: An unknown ``arch`` name, an arch dict with missing or
            malformed keys, ``in_channels`` or ``stem_channels`` below 1,
            ``out_indices`` that are not ints in range, ``frozen_stages`` out
            of range, ``drop_path_rate`` outside [0, 1), or (in ``forward``) an
            input that is not a non-empty ``(N, in_channels, H, W)`` tensor of
            the weights' dtype.

    Attributes:
        out_channels (tuple[int]): Channels of each returned map.
        out_strides (tuple[int]): Stride of each returned map relative to the
            input.
        feature_info (list[dict]): For every output (all four, whether returned
            or not): ``num_chs``, ``reduction`` (stride) and ``module`` (the
            stage it is taken after), as in timm.
    """

    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['s', 'small'],
                        dict(
                            stem_channels=64,
                            num_conv_blocks=2,
                            depths=[2, 4, 2],
                            dims=[128, 256, 512],
                            mlp_ratios=[2, 2, 2])),
        **dict.fromkeys(['m', 'medium'],
                        dict(
                            stem_channels=64,
                            num_conv_blocks=3,
                            depths=[3, 6, 3],
                            dims=[128, 256, 512],
                            mlp_ratios=[3, 3, 3])),
        **dict.fromkeys(['l', 'large'],
                        dict(
                            stem_channels=96,
                            num_conv_blocks=3,
                            depths=[4, 8, 3],
                            dims=[192, 384, 768],
                            mlp_ratios=[3, 3, 3])),
    }
    arch_keys = ('stem_channels', 'num_conv_blocks', 'depths', 'dims',
                 'mlp_ratios')
    # The stages in order (frozen_stages counts them), and the outputs of the
    # original detection/segmentation wrappers: (stage an output is taken
    # after, its stride). MLP stage 1 is not tapped.
    stage_names = ('stem', 'conv_stage', 'stages.0', 'stages.1', 'stages.2')
    output_taps = (('stem', 4), ('conv_stage', 8), ('stages.0', 16),
                   ('stages.2', 32))
    num_outputs = len(output_taps)
    num_stages = len(stage_names)

    def __init__(self,
                 arch: Union[str, dict] = 's',
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 conv_min_pixels: Optional[int] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 pretrained: Optional[str] = None):
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError(
                    'ConvMLP: give either `pretrained` or `init_cfg`, '
                    'not both '
                    f'(got pretrained={pretrained!r}, init_cfg={init_cfg!r})')
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
        stem_channels = self.arch_settings['stem_channels']
        depths = self.arch_settings['depths']
        dims = self.arch_settings['dims']
        mlp_ratios = self.arch_settings['mlp_ratios']
        if not _is_int(in_channels) or in_channels < 1:
            raise ValueError('ConvMLP: in_channels must be an int >= 1, got '
                             f'{in_channels!r}')
        if not _is_int(
                frozen_stages) or not -1 <= frozen_stages < self.num_stages:
            raise ValueError(
                f'ConvMLP: frozen_stages must be an int in '
                f'[-1, {self.num_stages - 1}], got {frozen_stages!r}')
        if (isinstance(drop_path_rate, bool)
                or not isinstance(drop_path_rate, (int, float))
                or not 0 <= drop_path_rate < 1):
            raise ValueError(
                'ConvMLP: drop_path_rate must be a number in [0, 1), got '
                f'{drop_path_rate!r}')
        self.out_indices = self._parse_out_indices(out_indices)

        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.drop_path_rate = drop_path_rate

        self.stem = ConvTokenizer(in_channels, stem_channels, norm_cfg,
                                  with_cp)
        self.conv_stage = ConvStage(self.arch_settings['num_conv_blocks'],
                                    stem_channels, dims[0], dims[0], norm_cfg,
                                    with_cp)
        self.stages = ModuleList()
        for i, depth in enumerate(depths):
            dpr = torch.linspace(
                0, drop_path_rate, depth, device='cpu').tolist()
            out_dims = dims[i + 1] if i + 1 < len(depths) else None
            self.stages.append(
                MLPStage(depth, dims[i], mlp_ratios[i], dpr, out_dims, with_cp,
                         conv_min_pixels))

        channels = dict(
            zip(self.stage_names,
                (stem_channels, dims[0], dims[1], dims[2], dims[2])))
        self.feature_info = [
            dict(num_chs=channels[name], reduction=stride, module=name)
            for name, stride in self.output_taps
        ]
        self.out_channels = tuple(self.feature_info[i]['num_chs']
                                  for i in self.out_indices)
        self.out_strides = tuple(self.feature_info[i]['reduction']
                                 for i in self.out_indices)
        # Stage position -> whether its output is returned.
        taps = {
            name
            for i, (name, _) in enumerate(self.output_taps)
            if i in self.out_indices
        }
        self._returned = tuple(name in taps for name in self.stage_names)

        self._freeze_stages()

    # ------------------------------------------------------------------ config
    @classmethod
    def _parse_out_indices(cls, out_indices) -> Tuple[int, ...]:
        """Sorted, de-duplicated, non-negative output indices."""
        if _is_int(out_indices):
            out_indices = [out_indices]
        if (isinstance(out_indices,
                       (str, bytes)) or not isinstance(out_indices, Sequence)
                or len(out_indices) == 0
                or not all(_is_int(i) for i in out_indices)):
            raise ValueError(
                'ConvMLP: out_indices must be an int or a non-empty sequence '
                f'of ints, got {out_indices!r}')
        n = cls.num_outputs
        if not all(-n <= i < n for i in out_indices):
            raise ValueError(
                f'ConvMLP: out_indices must be in [-{n}, {n - 1}], got '
                f'{list(out_indices)}')
        return tuple(sorted({i % n for i in out_indices}))

    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(
                    f'ConvMLP: unknown arch {arch!r}; choose one of '
                    f'{sorted(cls.arch_zoo)} or pass a dict with keys '
                    f'{list(cls.arch_keys)}')
            return copy.deepcopy(cls.arch_zoo[key])
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
                raise ValueError(
                    f'ConvMLP: arch[{k!r}] must be an int >= 1, got '
                    f'{settings[k]!r}')
        if settings['stem_channels'] % 2:
            raise ValueError(
                'ConvMLP: arch["stem_channels"] must be even, got '
                f'{settings["stem_channels"]}')
        return settings

    # --------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Compute the feature maps.

        Args:
            x (Tensor): Images, shape (N, in_channels, H, W), any N, H, W >= 1,
                of the weights' dtype (any float dtype under autocast).

        Returns:
            tuple[Tensor]: One map per ``out_indices`` entry, shape
            (N, out_channels[i], ceil(H / out_strides[i]),
            ceil(W / out_strides[i])) (rounding up at every stride-2 step).
            The maps are contiguous NCHW tensors: MMCV's CPU ops
            (``RoIAlign``, ...) read their input's memory as NCHW.

        Raises:
            ValueError: ``x`` is not 4-D, has a channel count other than
                ``in_channels``, no pixels or images, or another dtype than the
                weights outside autocast (e.g. uint8 images). Not checked while
                traced (the sizes are symbolic then; the exported convolutions
                check the channels).
        """
        if not torch.jit.is_tracing():
            self._check_input(x)
        # Channels-last end to end: the convs run in oneDNN's preferred layout
        # and the MLP stages need (N, H, W, C) anyway, so no layout change
        # costs a copy.
        x = x.contiguous(memory_format=torch.channels_last)
        outs = []
        for stage, returned in zip(self._stage_modules(), self._returned):
            x = stage(x)
            if returned:
                outs.append(x.contiguous())
        return tuple(outs)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.numel() == 0:
            raise ValueError(
                f'ConvMLP expects images of shape (N, {self.in_channels}, '
                'H, W) with N, H, W >= 1, got a tensor of shape '
                f'{tuple(x.shape)}')
        weight = self.stem[0].conv.weight
        if x.dtype != weight.dtype and not torch.is_autocast_enabled(
                x.device.type):
            raise ValueError(
                'ConvMLP expects images of its weights\' dtype '
                f'{weight.dtype} '
                f'(float images, normalised by the data preprocessor), got '
                f'dtype {x.dtype}')

    # ------------------------------------------------------- train / freeze
    def _stage_modules(self) -> List[nn.Module]:
        return [self.stem, self.conv_stage, *self.stages]

    def _freeze_stages(self) -> None:
        for module in self._stage_modules()[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'ConvMLP':
        """Set training mode, then re-apply ``frozen_stages`` and
        ``norm_eval``.

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
    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        """Take the authors' key names as well as this project's.

        PyTorch's and MMEngine's loaders call this on the module, with its
        prefix, before they give each child the keys under the child's
        prefix, and on a copy of the user's dict: renaming the keys here
        (:func:`mmconvmlp.models.utils.convert_state_dict_keys`, which also
        drops the classifier's ``norm.*``/``head.*``) makes every loading
        path (runner ``load_from``/``resume``, the inferencers,
        ``load_state_dict``) accept both layouts.
        """
        convert_state_dict_keys(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self) -> None:
        """Initialise, or load the checkpoint named by a ``Pretrained``
        ``init_cfg``.

        ``init_cfg=dict(type='Pretrained', checkpoint=PATH_OR_URL)`` may pin
        the file with ``sha256='<64 hex digits>'``.

        Raises:
            RuntimeError: The checkpoint leaves backbone weights unfilled, has
                weights of the wrong shape, or holds keys that belong to no
                ConvMLP.
            mmconvmlp.utils.CheckpointError: The file was refused (code
                inside, or a SHA-256 other than the pinned one).
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            load_convmlp_checkpoint(
                self,
                cfg['checkpoint'],
                prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'),
                sha256=cfg.get('sha256'))
            self.is_init = True  # BaseModule's flag: not initialised again
            return
        super().init_weights()
