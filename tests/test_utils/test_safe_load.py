"""No code runs from a checkpoint, wherever it comes from: local files,
http(s) URLs, torch hub's cache, backbone ``init_cfg`` and the inferencers;
and files pinned to a SHA-256 load only when they match."""
import hashlib
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mmconvmlp import ConvMLP
from mmconvmlp.testing.untrusted import (serve_directory,
                                         write_hostile_checkpoint)
from mmconvmlp.utils import (CheckpointError, CheckpointHashError,
                             UnsafeCheckpointError, resolve_checkpoint,
                             sha256sum)

CONFIGS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """torch hub's cache in a fresh folder; returns its checkpoints dir."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


@pytest.fixture
def served(tmp_path, torch_home):
    """A web server on 127.0.0.1 serving a folder that holds EVIL.pth.

    Yields ``(folder, base URL, marker)``: unpickling EVIL.pth would create
    ``marker``.
    """
    root, marker = tmp_path / 'www', tmp_path / 'MARKER'
    root.mkdir()
    write_hostile_checkpoint(str(root / 'EVIL.pth'), str(marker))
    with serve_directory(str(root)) as url:
        yield root, url, marker


def assert_refused(error, name, marker):
    """One message: the file, the global torch reports, nothing ran; no
    advice to load unsafely; and indeed nothing ran."""
    message = str(error.value)
    assert isinstance(error.value, pickle.UnpicklingError)
    assert name in message and 'posix.system' in message, message
    assert 'nothing in it ran' in message
    assert 'weights_only' not in message and '\n' not in message
    assert not marker.exists()


def test_hostile_file_runs_code_when_unpickled(tmp_path):
    """The test file is armed: loading it unsafely creates the marker."""
    marker = tmp_path / 'MARKER'
    path = write_hostile_checkpoint(str(tmp_path / 'EVIL.pth'), str(marker))
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_local_file_refused(served):
    root, _, marker = served
    path = str(root / 'EVIL.pth')
    with pytest.raises(UnsafeCheckpointError) as error:
        CheckpointLoader.load_checkpoint(path)
    assert_refused(error, path, marker)


def test_url_refused(served, torch_home):
    _, url, marker = served
    with pytest.raises(UnsafeCheckpointError) as error:
        CheckpointLoader.load_checkpoint(f'{url}/EVIL.pth')
    assert_refused(error, f'{url}/EVIL.pth', marker)
    # Downloaded (atomically) to torch hub's cache, and refused there too.
    assert sorted(os.listdir(torch_home)) == ['EVIL.pth']


def test_hub_cache_file_refused(served, torch_home):
    """A file already in torch hub's cache is read weights-only as well
    (the URL is not even fetched)."""
    root, _, marker = served
    torch_home.mkdir(parents=True)
    os.replace(root / 'EVIL.pth', torch_home / 'cached.pth')
    url = 'http://127.0.0.1:9/cached.pth'  # nothing listens there
    with pytest.raises(UnsafeCheckpointError) as error:
        CheckpointLoader.load_checkpoint(url)
    assert_refused(error, url, marker)


def test_backbone_init_cfg_url_refused(served):
    _, url, marker = served
    model = ConvMLP(
        's', init_cfg=dict(type='Pretrained', checkpoint=f'{url}/EVIL.pth'))
    with pytest.raises(UnsafeCheckpointError) as error:
        model.init_weights()
    assert_refused(error, f'{url}/EVIL.pth', marker)


def _det_config():
    cfg = Config.fromfile(osp.join(CONFIGS, 'retinanet_convmlp_s_coco.py'))
    cfg.model.backbone.init_cfg = None
    return cfg


def _seg_config():
    cfg = Config.fromfile(osp.join(CONFIGS, 'fpn_convmlp_s_ade20k.py'))
    cfg.model.backbone.init_cfg = None
    return cfg


@pytest.mark.parametrize(
    'api', ['init_detector', 'DetInferencer', 'mmseg_init_model'])
def test_inferencers_refuse_url(served, api):
    _, url, marker = served
    with pytest.raises(UnsafeCheckpointError) as error:
        if api == 'init_detector':
            from mmdet.apis import init_detector
            init_detector(_det_config(), f'{url}/EVIL.pth', device='cpu')
        elif api == 'DetInferencer':
            from mmdet.apis import DetInferencer
            DetInferencer(
                _det_config(),
                weights=f'{url}/EVIL.pth',
                device='cpu',
                show_progress=False)
        else:
            from mmseg.apis import init_model
            init_model(_seg_config(), f'{url}/EVIL.pth', device='cpu')
    assert_refused(error, f'{url}/EVIL.pth', marker)


def test_openmmlab_scheme_goes_through_the_safe_loader(torch_home, tmp_path):
    """``open-mmlab://`` (and ``torchvision://``, ``mmcls://``) download
    through MMEngine's module-level ``load_from_http``: the safe one."""
    from mmengine.runner.checkpoint import get_external_models
    name = osp.basename(get_external_models()['resnet50_v1c'])
    marker = tmp_path / 'MARKER'
    torch_home.mkdir(parents=True)
    write_hostile_checkpoint(str(torch_home / name), str(marker))
    # The hash in the file name (resnet50_v1c-<8 hex>.pth) refuses it.
    with pytest.raises(CheckpointHashError, match='hash in its file name'):
        CheckpointLoader.load_checkpoint('open-mmlab://resnet50_v1c')
    assert not marker.exists()


# ------------------------------------------------------------ good files
def _good_file(folder, name='good.pth'):
    state = ConvMLP('s').state_dict()
    path = osp.join(str(folder), name)
    torch.save(state, path)
    return path, state


def test_sha256sum_is_sha256(tmp_path):
    path, _ = _good_file(tmp_path)
    with open(path, 'rb') as f:
        assert sha256sum(path) == hashlib.sha256(f.read()).hexdigest()


def test_good_file_loads_from_url(tmp_path, torch_home):
    root = tmp_path / 'www'
    root.mkdir()
    _, state = _good_file(root)
    with serve_directory(str(root)) as url:
        loaded = CheckpointLoader.load_checkpoint(f'{url}/good.pth')
    assert set(loaded) == set(state)
    assert (torch_home / 'good.pth').is_file()
    assert [n for n in os.listdir(torch_home) if n.endswith('.part')] == []


def test_local_pin(tmp_path):
    path, _ = _good_file(tmp_path)
    right, wrong = sha256sum(path), '0' * 64
    assert resolve_checkpoint(path, right) == path
    assert resolve_checkpoint(path, right.upper()) == path
    with pytest.raises(CheckpointHashError) as error:
        resolve_checkpoint(path, wrong)
    message = str(error.value)
    assert path in message and right in message and wrong in message
    with pytest.raises(CheckpointError, match='not 64 hex digits'):
        resolve_checkpoint(path, right[:8])
    with pytest.raises(CheckpointError, match='local files and http'):
        resolve_checkpoint('s3://bucket/x.pth', right)


def test_url_pin_and_hash_in_file_name(tmp_path, torch_home):
    root = tmp_path / 'www'
    root.mkdir()
    path, _ = _good_file(root)
    digest = sha256sum(path)
    os.link(path, root / f'good-{digest[:8]}.pth')
    os.link(path, root / 'bad-deadbeef.pth')
    with serve_directory(str(root)) as url:
        # The hash in the name matches: loads.
        CheckpointLoader.load_checkpoint(f'{url}/good-{digest[:8]}.pth')
        # It does not: refused, and the download is not kept.
        with pytest.raises(CheckpointHashError) as error:
            CheckpointLoader.load_checkpoint(f'{url}/bad-deadbeef.pth')
        assert digest in str(error.value) and 'deadbeef' in str(error.value)
        assert not (torch_home / 'bad-deadbeef.pth').exists()
        # An explicit pin.
        local = resolve_checkpoint(f'{url}/good.pth', digest)
        assert local == str(torch_home / 'good.pth')
        with pytest.raises(CheckpointHashError) as error:
            resolve_checkpoint(f'{url}/good.pth', 'f' * 64)
        message = str(error.value)
        assert f'{url}/good.pth' in message and 'cached as' in message
        assert digest in message and 'f' * 64 in message


def test_backbone_init_cfg_pin(tmp_path):
    path, state = _good_file(tmp_path)
    pinned = ConvMLP(
        's',
        init_cfg=dict(
            type='Pretrained', checkpoint=path, sha256=sha256sum(path)))
    pinned.init_weights()
    for key, value in pinned.state_dict().items():
        assert torch.equal(value, state[key]), key

    wrong = ConvMLP(
        's',
        init_cfg=dict(type='Pretrained', checkpoint=path, sha256='1' * 64))
    before = {k: v.clone() for k, v in wrong.state_dict().items()}
    with pytest.raises(CheckpointHashError, match=sha256sum(path)):
        wrong.init_weights()
    for key, value in wrong.state_dict().items():
        assert torch.equal(value, before[key]), key
