"""ConvMLP's behaviour: output sizes and channels (the widths of ConvMLP-S
in the paper, arXiv:2109.04454, and the strides of the authors' code,
github.com/SHI-Labs/Convolutional-MLPs, whose outputs tests/data/ records:
test_authors_oracle.py), equal functions on its two pointwise routes, after
BN fusion, with checkpointing, in a trace and in torch.export, and the
training-mode switches."""
import pytest
import torch
from mmcv.cnn import fuse_conv_bn

from mmconvmlp.models import ConvMLP

TINY = dict(
    stem_channels=16,
    num_conv_blocks=1,
    depths=[1, 2, 1],
    dims=[32, 64, 128],
    mlp_ratios=2)


def _randomize_bn(model):
    """Non-trivial BN statistics, so that folding them is really tested."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + .5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return model


def _tiny(**kwargs):
    model = ConvMLP(TINY, drop_path_rate=0., **kwargs)
    model.init_weights()
    return _randomize_bn(model).eval()


@pytest.mark.parametrize('size,expected', [
    ((224, 224), [(56, 56), (28, 28), (14, 14), (7, 7)]),
    ((97, 130), [(25, 33), (13, 17), (7, 9), (4, 5)]),
])
def test_output_sizes_and_channels_of_s(size, expected):
    model = ConvMLP('s').eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, *size))
    assert [tuple(o.shape) for o in outs
            ] == [(2, c, *hw) for c, hw in zip((64, 128, 256, 512), expected)]
    assert all(o.is_contiguous() for o in outs)


def test_out_indices_and_feature_info_of_l():
    with torch.device('meta'):
        model = ConvMLP('large', out_indices=(-1, 1))
    assert model.out_channels == (192, 768)
    assert [(f['num_chs'], f['reduction'])
            for f in model.feature_info] == [(96, 4), (192, 8), (384, 16),
                                             (768, 32)]


def test_pointwise_routes_compute_the_same_function():
    linear = _tiny()
    conv = _tiny(linear_pw_conv=False)
    conv.load_state_dict(linear.state_dict())
    x = torch.randn(2, 3, 61, 47)
    with torch.no_grad():
        for a, b in zip(linear(x), conv(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_fused_batchnorm_computes_the_same_function():
    model = _tiny()
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        ref = model(x)
        fused = fuse_conv_bn(model)
        assert not any(
            isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        for a, b in zip(ref, fused(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_trace_is_correct_at_another_size():
    """One static graph: a trace made at one size is exact at another."""
    model = _tiny()
    with torch.no_grad():
        traced = torch.jit.trace(
            model, torch.randn(1, 3, 64, 64), check_trace=False)
        x = torch.randn(2, 3, 50, 77)
        for a, b in zip(model(x), traced(x)):
            torch.testing.assert_close(a, b)


def test_export_is_correct_at_another_size():
    """torch.export captures the whole backbone as one graph, with the batch,
    height and width dynamic, which computes what eager mode does."""
    from torch.export import Dim, export
    model = _tiny()
    # torch.export specialises a batch of one and maps of one pixel: from
    # two images and 64 pixels a side
    size = dict(min=64, max=1024)
    dims = {0: Dim('batch', max=16), 2: Dim('h', **size), 3: Dim('w', **size)}
    exported = export(
        model, (torch.randn(2, 3, 64, 64), ), dynamic_shapes=(dims, ))
    x = torch.randn(3, 3, 97, 130)
    with torch.no_grad():
        for a, b in zip(model(x), exported.module()(x)):
            torch.testing.assert_close(a, b)


def test_gradient_checkpointing_gives_the_same_gradients():
    plain = ConvMLP(TINY, drop_path_rate=0.).train()
    cp = ConvMLP(TINY, drop_path_rate=0., with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 40, 40)
    for model in (plain, cp):
        sum(o.square().mean() for o in model(x)).backward()
    for (name, a), b in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_frozen_stages_and_norm_eval():
    model = ConvMLP(TINY, frozen_stages=1, norm_eval=True).train()
    frozen = [p.requires_grad for p in model.stem.parameters()]
    frozen += [p.requires_grad for p in model.conv_stage.parameters()]
    assert not any(frozen)
    assert all(p.requires_grad for p in model.stages.parameters())
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert model.stages[0].training


@pytest.mark.parametrize('kwargs', [
    dict(arch='xl'),
    dict(arch=dict(TINY, depths=[1, 1])),
    dict(arch=dict(TINY, stem_channels=15)),
    dict(in_channels=0),
    dict(out_indices=4),
    dict(out_indices=[]),
    dict(frozen_stages=5),
    dict(drop_path_rate=1.0),
    dict(
        pretrained='x.pth',
        init_cfg=dict(type='Pretrained', checkpoint='y.pth')),
])
def test_bad_arguments_raise_value_error(kwargs):
    kwargs.setdefault('arch', TINY)
    with pytest.raises(ValueError, match='ConvMLP'):
        ConvMLP(**kwargs)


@pytest.mark.parametrize('x', [
    torch.zeros(1, 1, 32, 32),
    torch.zeros(0, 3, 32, 32),
    torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
])
def test_bad_input_raises_value_error(x):
    with pytest.raises(ValueError, match='ConvMLP expects'):
        ConvMLP(TINY)(x)
