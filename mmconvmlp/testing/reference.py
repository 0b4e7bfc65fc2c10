"""An independent, plain-PyTorch ConvMLP written from the paper's description.

It uses the module names of the authors' code, so its ``state_dict()`` is a
file in the exact original layout, and its forward is the function the port
must reproduce. Test helper only.
"""
import torch
from torch import nn


def _cbr(cin, cout, k, stride=1):
    return [
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU()
    ]


class _Tokenizer(nn.Module):

    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(*_cbr(3, c // 2, 3, 2),
                                   *_cbr(c // 2, c // 2, 3),
                                   *_cbr(c // 2, c, 3), nn.MaxPool2d(3, 2, 1))


class _ConvStages(nn.Module):

    def __init__(self, n, c, d):
        super().__init__()
        self.conv_blocks = nn.ModuleList(
            nn.Sequential(*_cbr(c, d, 1), *_cbr(d, d, 3), *_cbr(d, c, 1))
            for _ in range(n))
        self.downsample = nn.Conv2d(c, d, 3, 2, 1)


class _Mlp(nn.Module):

    def __init__(self, d, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, h), nn.Linear(h, d)


class _Block(nn.Module):

    def __init__(self, d, h):
        super().__init__()
        self.norm1, self.channel_mlp1 = nn.LayerNorm(d), _Mlp(d, h)
        self.connect_norm = nn.LayerNorm(d)
        self.connect = nn.Conv2d(d, d, 3, 1, 1, groups=d, bias=False)
        self.norm2, self.channel_mlp2 = nn.LayerNorm(d), _Mlp(d, h)


class _Down(nn.Module):

    def __init__(self, d, e):
        super().__init__()
        self.downsample = nn.Conv2d(d, e, 3, 2, 1)


class _Stage(nn.Module):

    def __init__(self, n, d, h, e):
        super().__init__()
        self.blocks = nn.ModuleList(_Block(d, h) for _ in range(n))
        if e is not None:
            self.downsample_mlp = _Down(d, e)


ARCHS = dict(
    s=(64, 2, [2, 4, 2], [128, 256, 512], 2),
    m=(64, 3, [3, 6, 3], [128, 256, 512], 3),
    l=(96, 3, [4, 8, 3], [192, 384, 768], 3),
)


class ReferenceConvMLP(nn.Module):
    """Eval-mode reference.

    ``classifier=True`` adds the ImageNet ``norm`` and ``head``.
    """

    def __init__(self, arch='s', classifier=False):
        super().__init__()
        c, n_conv, depths, dims, ratio = ARCHS[arch]
        self.tokenizer = _Tokenizer(c)
        self.conv_stages = _ConvStages(n_conv, c, dims[0])
        self.stages = nn.ModuleList(
            _Stage(depths[i], dims[i], dims[i] *
                   ratio, dims[i + 1] if i < 2 else None) for i in range(3))
        if classifier:
            self.norm = nn.LayerNorm(dims[2])
            self.head = nn.Linear(dims[2], 1000)

    @torch.no_grad()
    def randomize(self, seed=0):
        """Fill every parameter and BN buffer with distinct random values."""
        g = torch.Generator().manual_seed(seed)
        for name, t in self.state_dict().items():
            if name.endswith('num_batches_tracked'):
                t.fill_(7)
            elif name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
        return self

    def forward(self, x):
        outs = []
        x = self.tokenizer.block(x)
        outs.append(x)
        for f in self.conv_stages.conv_blocks:
            x = x + f(x)
        x = self.conv_stages.downsample(x)
        outs.append(x)
        x = x.permute(0, 2, 3, 1)
        for i, stage in enumerate(self.stages):
            for b in stage.blocks:
                x = x + b.channel_mlp1.fc2(
                    torch.nn.functional.gelu(b.channel_mlp1.fc1(b.norm1(x))))
                x = b.connect(b.connect_norm(x).permute(0, 3, 1, 2)).permute(
                    0, 2, 3, 1)
                x = x + b.channel_mlp2.fc2(
                    torch.nn.functional.gelu(b.channel_mlp2.fc1(b.norm2(x))))
            if i < 2:
                x = stage.downsample_mlp.downsample(x.permute(0, 3, 1,
                                                              2)).permute(
                                                                  0, 2, 3, 1)
            if i != 1:
                outs.append(x.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
