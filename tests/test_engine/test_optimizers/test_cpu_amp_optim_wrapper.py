"""CPUAmpOptimWrapper: bfloat16 autocast where the CPU computes it natively."""
import logging
import os.path as osp

import pytest
import torch
import torch.nn as nn
from batches import build_model, det_batch, train_and_infer
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmconvmlp.engine import CPUAmpOptimWrapper
from mmconvmlp.engine.optimizers import cpu_amp_optim_wrapper


class _Recorder(nn.Module):
    """A Linear layer that records the dtype its output was computed in."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.dtypes = []

    def forward(self, x):
        y = self.fc(x)
        self.dtypes.append(y.dtype)
        return y.float().sum()


def _step(wrapper, model):
    with wrapper.optim_context(model):
        loss = model(torch.randn(4, 8))
    wrapper.update_params(loss)


@pytest.mark.parametrize('native', [True, False], ids=['native', 'emulated'])
def test_bfloat16_only_where_native(monkeypatch, native):
    """With native bfloat16 the forward pass runs in bfloat16 and an INFO line
    says so; without it (an AVX2-only CPU) it runs in float32 after one WARNING
    that names the expected slowdown and the switch that forces autocast."""
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'has_native_bf16',
                        lambda: native)
    model = _Recorder()
    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        wrapper = CPUAmpOptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    finally:
        logger.removeHandler(handler)
    _step(wrapper, model)
    assert wrapper.enabled is native
    assert model.dtypes == [torch.bfloat16 if native else torch.float32]
    warnings = [
        r.getMessage() for r in records if r.levelno == logging.WARNING
    ]
    if native:
        assert warnings == []
        assert any('bfloat16 autocast of the forward pass' in r.getMessage()
                   for r in records)
    else:
        assert len(warnings) == 1
        assert 'no native bfloat16' in warnings[
            0] and '5-24x slower' in warnings[0]
        assert 'allow_emulated_bf16=True' in warnings[0]


def test_allow_emulated_bf16_forces_autocast(monkeypatch):
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'has_native_bf16',
                        lambda: False)
    model = _Recorder()
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        allow_emulated_bf16=True)
    _step(wrapper, model)
    assert model.dtypes == [torch.bfloat16]


def test_only_bfloat16_is_accepted():
    with pytest.raises(ValueError, match='bfloat16 only'):
        CPUAmpOptimWrapper(
            optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1),
            dtype='float16')


def test_two_stage_step_autocasts_backbone_and_neck_only(repo_root):
    """Mask R-CNN under CPU AMP: backbone and neck in bfloat16, the heads
    (MMCV's float32-only nms/RoIAlign) in float32; the step trains. (Emulated
    bfloat16 is allowed, so the step is the same on every CPU.)"""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'maskrcnn_convmlp_s_coco.py'))
    # A narrow backbone and neck and small images: emulated bfloat16 (AVX2
    # CPUs) is slow.
    cfg.model.backbone.update(
        init_cfg=None,
        arch=dict(
            stem_channels=16,
            num_conv_blocks=1,
            depths=[1, 1, 1],
            dims=[32, 64, 128],
            mlp_ratios=2))
    cfg.model.neck.in_channels = [16, 32, 64, 128]
    model = build_model(cfg)
    dtypes = {}

    def record(name, dtype_of):

        def hook(module, inputs, output):
            dtypes.setdefault(name,
                              dtype_of(output))  # returns None: output kept

        return hook

    model.backbone.stages[0].blocks[0].dwconv.register_forward_hook(
        record('backbone', lambda out: out.dtype))
    model.rpn_head.register_forward_hook(
        record('rpn', lambda out: out[0][0].dtype))
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-4),
        autocast_modules=['backbone', 'neck'],
        allow_emulated_bf16=True)
    train_and_infer(
        model, det_batch(size=(32, 48), with_mask=True), optim_wrapper=wrapper)
    assert dtypes == {'backbone': torch.bfloat16, 'rpn': torch.float32}
    assert 'forward' not in vars(model.backbone)  # the patch is undone
