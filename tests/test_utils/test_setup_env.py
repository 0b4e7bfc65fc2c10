"""Runner set-up of the tools: mixed precision and CPU launchers."""
import pytest
import torch
from mmengine.config import Config

from mmconvmlp.utils import ToolError, setup_amp, setup_launcher


def _optim_cfg(model=None, **optim_wrapper):
    return Config(
        dict(
            model=model or dict(type='RetinaNet'),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=1e-4),
                **optim_wrapper)))


def test_amp_selects_cpu_wrapper(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = _optim_cfg()
    setup_amp(cfg, True)
    assert cfg.optim_wrapper.type == 'mmconvmlp.CPUAmpOptimWrapper'
    assert 'autocast_modules' not in cfg.optim_wrapper
    two_stage = _optim_cfg(model=dict(type='MaskRCNN', roi_head=dict()))
    setup_amp(two_stage, True)
    assert two_stage.optim_wrapper.autocast_modules == ['backbone', 'neck']
    # A config written for GPU AMP runs on a CPU too, --amp or not.
    gpu_cfg = _optim_cfg(loss_scale='dynamic')
    gpu_cfg.optim_wrapper.type = 'AmpOptimWrapper'
    setup_amp(gpu_cfg, False)
    assert gpu_cfg.optim_wrapper.type == 'mmconvmlp.CPUAmpOptimWrapper'
    assert 'loss_scale' not in gpu_cfg.optim_wrapper


def test_amp_selects_mmengine_wrapper_on_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _optim_cfg()
    setup_amp(cfg, True)
    assert (cfg.optim_wrapper.type,
            cfg.optim_wrapper.loss_scale) == ('AmpOptimWrapper', 'dynamic')
    plain = _optim_cfg()
    setup_amp(plain, False)
    assert plain.optim_wrapper.type == 'OptimWrapper'


def test_amp_rejects_other_wrappers():
    cfg = _optim_cfg()
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(
            ToolError,
            match='--amp works with optim_wrapper type OptimWrapper'):
        setup_amp(cfg, True)


def test_slurm_on_cpu_says_it_needs_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='slurm', model=dict()))
    with pytest.raises(ToolError, match='needs GPUs'):
        setup_launcher(cfg)
