"""ConvMLP backbone: presets, shapes, equality with the original function,
training behaviour."""
import copy
import math

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmconvmlp import MODELS, ConvMLP, convert_convmlp_checkpoint
from mmconvmlp.models.backbones.convmlp import ChannelMLP, ConvNormAct
from mmconvmlp.testing.reference import ReferenceConvMLP

CHANNELS = dict(
    s=(64, 128, 256, 512), m=(64, 128, 256, 512), l=(96, 192, 384, 768))
PARAMS_M = dict(s=8.51, m=16.90, l=41.96)


def _load_reference(model, ref):
    model.load_state_dict(convert_convmlp_checkpoint(ref.state_dict()))
    return model


def _ceil_steps(size, steps):
    for _ in range(steps):
        size = math.ceil(size / 2)
    return size


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_param_count(arch):
    n = sum(p.numel() for p in ConvMLP(arch).parameters())
    assert round(n / 1e6, 2) == PARAMS_M[arch]


@pytest.mark.parametrize('alias,arch', [('small', 's'), ('Medium', 'm'),
                                        ('LARGE', 'l')])
def test_arch_aliases(alias, arch):
    assert ConvMLP(alias).arch_settings == ConvMLP(arch).arch_settings


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
@pytest.mark.parametrize('hw', [(224, 224), (97, 130)])
def test_output_shapes(arch, hw):
    model = ConvMLP(arch).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    assert len(outs) == 4
    assert model.out_channels == CHANNELS[arch]
    assert model.out_strides == (4, 8, 16, 32)
    for out, c, s in zip(outs, model.out_channels, model.out_strides):
        steps = int(math.log2(s))
        assert out.shape == (1, c, _ceil_steps(hw[0], steps),
                             _ceil_steps(hw[1], steps))


def test_odd_size_numbers_from_the_paper_table():
    outs = ConvMLP('s').eval()(torch.randn(1, 3, 97, 130))
    assert [tuple(o.shape[2:]) for o in outs] == [(25, 33), (13, 17), (7, 9),
                                                  (4, 5)]


def test_out_indices_subset_and_negative():
    model = ConvMLP('m', out_indices=(-1, 1)).eval()
    assert model.out_indices == (1, 3)
    assert model.out_channels == (128, 512) and model.out_strides == (8, 32)
    outs = model(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 128, 8, 8), (2, 512, 2, 2)]


def test_custom_arch_dict():
    arch = dict(
        stem_channels=32,
        num_conv_blocks=1,
        depths=[1, 1, 1],
        dims=[48, 96, 192],
        mlp_ratios=2)
    model = ConvMLP(arch).eval()
    assert model.out_channels == (32, 48, 96, 192)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 48, 96, 192]


@pytest.mark.parametrize('arch,match', [
    ('xl',
     r"unknown arch 'xl'.*\['l', 'large', 'm', 'medium', 's', 'small'\]"),
    (dict(stem_channels=64, dims=[1, 2, 3]),
     r"missing the keys \['num_conv_blocks', 'depths', 'mlp_ratios'\]"),
    (dict(
        stem_channels=64,
        num_conv_blocks=1,
        depths=[1, 1],
        dims=[8, 16, 32],
        mlp_ratios=2), r"arch\['depths'\] must have 3 entries"),
    (3, 'must be a str or a dict'),
])
def test_bad_arch(arch, match):
    with pytest.raises(ValueError, match=match):
        ConvMLP(arch)


def test_bad_out_indices_and_frozen_stages():
    with pytest.raises(ValueError, match=r'out_indices must be in \[-4, 3\]'):
        ConvMLP('s', out_indices=(0, 4))
    with pytest.raises(
            ValueError, match=r'frozen_stages must be an int in \[-1, 4\]'):
        ConvMLP('s', frozen_stages=5)


@pytest.mark.parametrize('shape', [(3, 64, 64), (1, 1, 64, 64),
                                   (1, 4, 64, 64)])
def test_bad_input(shape):
    with pytest.raises(
            ValueError,
            match=
            r'expects images of shape \(N, 3, H, W\) with N, H, W >= 1, got'):
        ConvMLP('s')(torch.randn(*shape))


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_same_function_as_original(arch):
    """Same weights, eval mode: every output equals the independent
    reference."""
    ref = ReferenceConvMLP(arch).randomize(seed=1).eval()
    model = _load_reference(ConvMLP(arch), ref).eval()
    x = torch.randn(2, 3, 97, 130)
    with torch.no_grad():
        expected, got = ref(x), model(x)
    for e, g in zip(expected, got):
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


# conv_min_pixels: 0 sends every channel MLP through the 1x1 convolution,
# 10**9 none; 1024 splits a 260x300 image (MLP stage 0 has 33x38 = 1254 pixels,
# the later ones fewer) between both routes.
@pytest.mark.parametrize('conv_min_pixels', [0, 1024, 10**9])
@pytest.mark.parametrize('grad', [False, True], ids=['no_grad', 'grad'])
def test_fast_paths_same_function_as_original(grad, conv_min_pixels):
    """Folded eval BatchNorms, both ChannelMLP routes, in-place (no_grad) and
    out-of-place (grad) residuals: all compute the reference's function in
    fp32."""
    ref = ReferenceConvMLP('s').randomize(seed=2).eval()
    model = _load_reference(
        ConvMLP('s', conv_min_pixels=conv_min_pixels), ref).eval()
    x = torch.randn(1, 3, 260, 300)
    with torch.set_grad_enabled(grad):
        expected, got = ref(x), model(x)
    for e, g in zip(expected, got):
        assert g.is_contiguous()
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_bf16_autocast_outputs_close_to_fp32():
    """bf16 autocast on both ChannelMLP routes (260x300: stage 0 takes the
    1x1-conv route): every map keeps a cosine similarity >= 0.999 to the fp32
    one."""
    model = ConvMLP('s').eval()
    x = torch.randn(1, 3, 260, 300)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
    for r, o in zip(ref, low):
        assert o.shape == r.shape
        cos = torch.nn.functional.cosine_similarity(
            r.flatten().double(), o.flatten().double(), dim=0)
        assert cos >= 0.999, cos


@pytest.mark.parametrize('norm_eval', [False, True])
def test_training_gradients_equal_original(norm_eval):
    """Training mode (batch-statistics BatchNorm, or folded eval BatchNorm with
    norm_eval): the input and every parameter get the reference's gradients.

    In float64: this random network's fp32 gradients vary by ~0.2% with the
    summation order of any implementation (the batch-statistics BatchNorms
    amplify rounding), so fp32 cannot tell a wrong gradient from rounding;
    float64 agrees to 1e-7.
    """
    ref = ReferenceConvMLP('s').randomize(seed=3).double().train()
    model = ConvMLP('s', drop_path_rate=0., norm_eval=norm_eval)
    model = _load_reference(model, ref).double().train()
    if norm_eval:
        for m in ref.modules():
            if isinstance(m, _BatchNorm):
                m.eval()
    x = torch.randn(1, 3, 260, 300, dtype=torch.float64)
    x_ref, x_got = x.clone().requires_grad_(), x.clone().requires_grad_()
    outs_ref, outs_got = ref(x_ref), model(x_got)
    weights = [torch.randn_like(o) for o in outs_ref]
    sum((o * w).sum() for o, w in zip(outs_ref, weights)).backward()
    sum((o * w).sum() for o, w in zip(outs_got, weights)).backward()
    torch.testing.assert_close(x_got.grad, x_ref.grad)
    expected = convert_convmlp_checkpoint({
        n: p.grad
        for n, p in ref.named_parameters()
    })
    got = {n: p.grad for n, p in model.named_parameters()}
    assert sorted(got) == sorted(expected)
    for name, grad in got.items():
        torch.testing.assert_close(grad, expected[name], msg=name)


@pytest.mark.parametrize(
    'shape', [(2, 40, 30, 16), (1, 8, 8, 16), (5, 16)],
    ids=['conv-route', 'linear-route', '2d'])
def test_channel_mlp_equals_linear_gelu_linear(shape):
    mlp = ChannelMLP(16, 32)
    x = torch.randn(shape)
    h = torch.nn.functional.gelu(x @ mlp.fc1.weight.T + mlp.fc1.bias)
    torch.testing.assert_close(mlp(x), h @ mlp.fc2.weight.T + mlp.fc2.bias)


@pytest.mark.parametrize('threads', [1, 2])
def test_channel_mlp_conv_route_at_any_thread_count(threads):
    """One thread gives the 1x1 convolutions dilation 2 (oneDNN instead of
    torch's native kernel); a trace keeps dilation 1. Same function."""
    from mmconvmlp.models.backbones.convmlp import _pointwise_dilation
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        mlp = ChannelMLP(16, 32, conv_min_pixels=0)
        x = torch.randn(2, 12, 10, 16, requires_grad=True)
        h = torch.nn.functional.gelu(x @ mlp.fc1.weight.T + mlp.fc1.bias)
        torch.testing.assert_close(mlp(x), h @ mlp.fc2.weight.T + mlp.fc2.bias)
        mlp(x).sum().backward()  # the dilated convolution's gradients
        assert x.grad is not None and mlp.fc1.weight.grad is not None
        assert _pointwise_dilation() == (2 if threads == 1 else 1)
        seen = []

        class Probe(torch.nn.Module):

            def forward(self, t):
                seen.append(_pointwise_dilation())
                return t * 1

        torch.jit.trace(Probe(), torch.zeros(1), check_trace=False)
        assert seen == [1]
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize('kernel, threads', [(3, None), (1, 1), (1, 2)])
def test_eval_batchnorm_is_folded_into_the_conv(kernel, threads):
    """In eval mode the BatchNorm module is not run (folded into the conv); the
    result equals conv -> BN -> ReLU (a 1x1 conv on one thread runs dilated).
    In training mode it runs on batch statistics."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        _check_folded_batchnorm(ConvNormAct(8, 16, kernel, dict(type='BN')))
    finally:
        torch.set_num_threads(before)


def _check_folded_batchnorm(layer):
    with torch.no_grad():
        layer.bn.running_mean.uniform_(-1, 1)
        layer.bn.running_var.uniform_(0.5, 2)
        layer.bn.weight.uniform_(0.5, 1.5)
        layer.bn.bias.uniform_(-0.5, 0.5)
    calls = []
    layer.bn.register_forward_hook(lambda *args: calls.append(1))
    x = torch.randn(2, 8, 12, 12)
    layer.eval()
    expected = torch.relu(layer.bn(layer.conv(x)))
    calls.clear()
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)
    assert calls == []
    layer.train()
    layer(x)
    assert calls == [1]


# Static shapes: torch 2.13's inductor fails to lower convolutions over
# symbolic sizes (ValueRangeError, pytorch/pytorch#188422), for this backbone
# as for others.
def test_jit_trace_matches_eager():
    model = ConvMLP('s').eval()
    x, x2 = torch.randn(1, 3, 96, 128), torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        expected = model(x2)
        outs = torch.jit.trace(model, x, check_trace=False)(x2)
    assert len(outs) == 4
    for e, g in zip(expected, outs):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_torch_compile_matches_eager(inductor_isa_consistent):
    model = ConvMLP('s').eval()
    x2 = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        expected = model(x2)
        outs = torch.compile(model, dynamic=False)(x2)
    assert len(outs) == 4
    for e, g in zip(expected, outs):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_torch_compile_training_gradients_match_eager(inductor_isa_consistent):
    """A compiled training step gives the eager gradients (float64, for the
    reason in test_training_gradients_equal_original)."""
    eager = ConvMLP('s', drop_path_rate=0.).double().train()
    compiled = copy.deepcopy(eager)
    x = torch.randn(2, 3, 64, 96, dtype=torch.float64)
    sum(o.square().sum() for o in eager(x)).backward()
    sum(o.square().sum()
        for o in torch.compile(compiled, dynamic=False)(x)).backward()
    grads = dict(compiled.named_parameters())
    for name, p in eager.named_parameters():
        torch.testing.assert_close(grads[name].grad, p.grad, msg=name)


def test_registry_and_build_from_mmdet_and_mmseg():
    assert MODELS.scope == 'mmconvmlp'
    from mmdet.registry import MODELS as DET_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    for registry in (DET_MODELS, SEG_MODELS):
        model = registry.build(
            dict(type='mmconvmlp.ConvMLP', arch='s', out_indices=(3, )))
        assert isinstance(model, ConvMLP) and model.out_channels == (512, )


def test_train_returns_self_and_all_params_get_gradients():
    model = ConvMLP('s', drop_path_rate=0.0)
    assert model.train() is model
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.square().mean() for o in outs).backward()
    no_grad = [
        n for n, p in model.named_parameters()
        if p.grad is None or p.grad.abs().sum() == 0
    ]
    assert no_grad == []


@pytest.mark.parametrize('frozen_stages,prefixes', [
    (0, ['stem.']),
    (1, ['stem.', 'conv_stage.']),
    (3, ['stem.', 'conv_stage.', 'stages.0.', 'stages.1.']),
])
def test_frozen_stages(frozen_stages, prefixes):
    model = ConvMLP('s', frozen_stages=frozen_stages).train()
    for name, p in model.named_parameters():
        assert p.requires_grad == (not any(
            name.startswith(q) for q in prefixes)), name
    for name, m in model.named_modules():
        if isinstance(m, _BatchNorm) and any(
                name.startswith(q) for q in prefixes):
            assert not m.training, name
    # Frozen BN statistics do not move in training mode; the others do.
    before = copy.deepcopy(model.state_dict())
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.sum() for o in outs).backward()
    after = model.state_dict()
    assert torch.equal(before['stem.0.bn.running_mean'],
                       after['stem.0.bn.running_mean'])
    for name, p in model.named_parameters():
        if not p.requires_grad:
            assert p.grad is None, name
    if frozen_stages < 1:
        key = 'conv_stage.blocks.0.layers.0.bn.running_mean'
        assert not torch.equal(before[key], after[key])


def test_norm_eval():
    model = ConvMLP('s', norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert all(p.requires_grad for p in model.parameters())
    before = copy.deepcopy(model.state_dict())
    model(torch.randn(2, 3, 64, 64))
    for k, v in model.state_dict().items():
        if 'running' in k:
            assert torch.equal(v, before[k]), k
    assert ConvMLP('s', norm_eval=False).train().stem[0].bn.training


def _saved_activation_bytes(model, x):
    """Bytes of the tensors autograd keeps for backward (unique storages)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        outs = model(x)
    return outs, sum(storages.values())


def test_with_cp_same_outputs_and_grads_less_memory():
    torch.manual_seed(0)
    plain = ConvMLP('s', drop_path_rate=0.0).train()
    ckpt = ConvMLP('s', drop_path_rate=0.0, with_cp=True).train()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 96, 96)
    outs_p, bytes_p = _saved_activation_bytes(plain, x)
    outs_c, bytes_c = _saved_activation_bytes(ckpt, x)
    for a, b in zip(outs_p, outs_c):
        torch.testing.assert_close(a, b)
    sum(o.square().sum() for o in outs_p).backward()
    sum(o.square().sum() for o in outs_c).backward()
    grads_c = dict(ckpt.named_parameters())
    for name, p in plain.named_parameters():
        torch.testing.assert_close(
            p.grad, grads_c[name].grad, rtol=1e-4, atol=1e-5, msg=name)
    assert bytes_c < 0.5 * bytes_p, (bytes_c, bytes_p)


def test_drop_path_schedule_matches_original():
    model = ConvMLP('m', drop_path_rate=0.1)
    for stage, depth in zip(model.stages, [3, 6, 3]):
        rates = [getattr(b.drop_path, 'drop_prob', 0.0) for b in stage.blocks]
        torch.testing.assert_close(
            torch.tensor(rates), torch.linspace(0, 0.1, depth))


def test_default_init_scheme():
    model = ConvMLP('s')
    model.init_weights()
    fc = model.stages[0].blocks[0].mlp1.fc1
    assert fc.bias.abs().sum() == 0 and 0.015 < fc.weight.std() < 0.025
    ln = model.stages[1].blocks[0].norm1
    assert torch.all(ln.weight == 1) and torch.all(ln.bias == 0)
    conv = model.stem[1].conv  # 32 -> 32, 3x3: fan_out = 288
    assert abs(conv.weight.std().item() - math.sqrt(2 / 288)) < 0.01


def test_outputs_are_contiguous_nchw_for_mmcv_ops():
    """MMCV's CPU RoIAlign reads its input as NCHW memory: a channels-last map
    would give wrong RoI features (Mask R-CNN then fails to learn). The
    backbone hands out contiguous NCHW maps, and RoIAlign on them equals
    RoIAlign on an NCHW copy."""
    from mmcv.ops import RoIAlign
    model = ConvMLP(arch='s').eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 96, 128))
    assert all(o.is_contiguous() for o in outs)
    roi_align = RoIAlign((7, 7), spatial_scale=1 / 8, sampling_ratio=0)
    rois = torch.tensor([[0., 8., 4., 90., 70.]])
    reference = roi_align(outs[1].clone(memory_format=torch.contiguous_format),
                          rois)
    assert torch.equal(roi_align(outs[1], rois), reference)


def test_feature_info_table_names_the_stage_of_each_output():
    model = ConvMLP('l', out_indices=(1, 3))
    assert model.feature_info == [
        dict(num_chs=96, reduction=4, module='stem'),
        dict(num_chs=192, reduction=8, module='conv_stage'),
        dict(num_chs=384, reduction=16, module='stages.0'),
        dict(num_chs=768, reduction=32, module='stages.2'),
    ]
    assert model.out_channels == (192, 768) and model.out_strides == (8, 32)


def test_each_stage_runs_on_its_own():
    """The stages chained by hand give the backbone's outputs (taps after the
    stem, the conv stage, MLP stage 0 and MLP stage 2)."""
    model = ConvMLP('s').eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = model(x)
        stem = model.stem(x)
        conv = model.conv_stage(stem)
        mlp0 = model.stages[0](conv)
        mlp2 = model.stages[2](model.stages[1](mlp0))
    assert [tuple(t.shape)
            for t in (stem, conv, mlp0, mlp2)] == [(1, 64, 16, 24),
                                                   (1, 128, 8, 12),
                                                   (1, 256, 4, 6),
                                                   (1, 512, 2, 3)]
    for got, expected in zip(outs, (stem, conv, mlp0, mlp2)):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_with_cp_is_set_on_every_stage():
    model = ConvMLP('s', with_cp=True)
    assert [m.with_cp for m in model._stage_modules()] == [True] * 5
    assert not any(m.with_cp for m in ConvMLP('s')._stage_modules())


def test_conv_route_default_follows_the_isa(monkeypatch):
    from mmconvmlp.models.backbones import convmlp
    for isa, key in (('AVX512', 'AVX512'), ('AVX2', 'AVX2'), ('DEFAULT',
                                                              'AVX2')):
        monkeypatch.setattr(convmlp, 'cpu_capability', lambda isa=isa: isa)
        mlp = ConvMLP('s').stages[0].blocks[0].mlp1
        assert mlp.conv_min_pixels == convmlp.CONV_MIN_PIXELS[key]
    assert ConvMLP(
        's', conv_min_pixels=7).stages[2].blocks[0].mlp2.conv_min_pixels == 7


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0), 'in_channels must be an int >= 1, got 0'),
    (dict(in_channels=2.5), 'in_channels must be an int >= 1'),
    (dict(
        arch=dict(
            stem_channels=0,
            num_conv_blocks=2,
            depths=[2, 4, 2],
            dims=[128, 256, 512],
            mlp_ratios=2)),
     "arch\\['stem_channels'\\] must be an int >= 1, got 0"),
    (dict(drop_path_rate=2.0),
     r'drop_path_rate must be a number in \[0, 1\), got 2.0'),
    (dict(drop_path_rate=-0.1),
     r'drop_path_rate must be a number in \[0, 1\)'),
    (dict(out_indices='0'),
     "out_indices must be an int or a non-empty sequence of "
     "ints, got '0'"),
    (dict(out_indices=[0, 1.0]),
     'out_indices must be an int or a non-empty sequence'),
    (dict(frozen_stages=True), 'frozen_stages must be an int'),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvMLP(**kwargs)


@pytest.mark.parametrize('x, match', [
    (torch.zeros(1, 3, 0, 0),
     r'with N, H, W >= 1, got a tensor of shape \(1, 3, 0, 0\)'),
    (torch.zeros(0, 3, 32, 32), r'got a tensor of shape \(0, 3, 32, 32\)'),
    (torch.zeros(1, 3, 32, 32, dtype=torch.uint8),
     "weights' dtype torch.float32 .* got dtype torch.uint8"),
    (torch.zeros(1, 3, 32, 32, dtype=torch.float64),
     "weights' dtype torch.float32 .* got dtype torch.float64"),
])
def test_bad_inputs_raise_value_error(x, match):
    with pytest.raises(ValueError, match=match):
        ConvMLP('s')(x)


def test_float64_input_runs_in_float64():
    model = ConvMLP('s').double().eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32, dtype=torch.float64))
    assert all(o.dtype == torch.float64 for o in outs)
