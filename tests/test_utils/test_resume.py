"""Checkpoints a killed run can resume from: atomic writes, and --resume
picks the newest complete checkpoint, never a truncated one."""
import os
import os.path as osp
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from mmconvmlp.utils import (AtomicLocalBackend, find_resume_checkpoint,
                             setup_resume)


def _checkpoint(path, value=0.):
    save_checkpoint({'state_dict': {
        'w': torch.full((64, ), value)
    }}, str(path))
    return str(path)


def _truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def _touch_later(path, seconds=10):
    now = time.time() + seconds
    os.utime(path, (now, now))


def test_mmengine_writes_through_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path)), AtomicLocalBackend)
    path = _checkpoint(tmp_path / 'epoch_1.pth', 1.)
    assert torch.load(path)['state_dict']['w'][0] == 1.
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    """A write that dies before the rename (a kill) leaves the previous
    checkpoint whole and no file under the final name is half-written."""
    path = _checkpoint(tmp_path / 'epoch_1.pth', 1.)

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        _checkpoint(tmp_path / 'epoch_1.pth', 2.)
    monkeypatch.undo()
    assert torch.load(path)['state_dict']['w'][0] == 1.
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_find_resume_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path / 'none')) is None
    assert find_resume_checkpoint(str(tmp_path)) is None
    first = _checkpoint(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(first)
    assert find_resume_checkpoint(str(tmp_path)) == first
    # Killed after the checkpoint was written, before last_checkpoint was.
    second = _checkpoint(tmp_path / 'epoch_2.pth')
    _touch_later(second)
    assert find_resume_checkpoint(str(tmp_path)) == second
    # A truncated newest file (written without the atomic backend) and a
    # last_checkpoint naming it: the newest complete one is taken.
    third = _checkpoint(tmp_path / 'epoch_3.pth')
    _truncate(third)
    _touch_later(third, 20)
    (tmp_path / 'last_checkpoint').write_text(third)
    assert find_resume_checkpoint(str(tmp_path)) == second
    # A truncated last_checkpoint, or one naming a moved work dir.
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resume_checkpoint(str(tmp_path)) == second
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/epoch_2.pth')
    assert find_resume_checkpoint(str(tmp_path)) == second


def test_setup_resume(tmp_path):
    cfg = Config(
        dict(
            work_dir=str(tmp_path),
            load_from='pretrained.pth',
            custom_hooks=[dict(type='mmconvmlp.LossCurveHook')]))
    warning = setup_resume(cfg, 'auto')
    assert str(tmp_path) in warning and 'from the beginning' in warning
    assert (cfg.resume, cfg.load_from) == (False, 'pretrained.pth')
    types = [hook['type'] for hook in cfg.custom_hooks]
    assert types == ['mmconvmlp.LossCurveHook', 'mmconvmlp.ResumeStateHook']
    setup_resume(cfg, None)  # added once only
    assert len(cfg.custom_hooks) == 2

    path = _checkpoint(tmp_path / 'iter_50.pth')
    assert setup_resume(cfg, 'auto') is None
    assert (cfg.resume, cfg.load_from) == (True, path)
    assert setup_resume(cfg, 'other.pth') is None
    assert (cfg.resume, cfg.load_from) == (True, 'other.pth')
    assert osp.isfile(path)
