"""Checkpoint handling: importing the package changes nothing in its hosts;
files are read weights-only wherever they come from; the strict, fine-tune
and resume checks refuse by name what does not fit. Files in the authors'
layout are built from the key names the original code writes
(tests/data/authors_keys.json)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from batches import build_model
from mmengine.config import Config

from mmconvmlp.models import ConvMLP
from mmconvmlp.models.utils import (CheckpointError, CheckpointMismatchError,
                                    check_checkpoint, load_checkpoint_file)

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
AUTHORS = json.load(open(osp.join(REPO, 'tests', 'data', 'authors_keys.json')))


def authors_classifier(arch='s', drop=()):
    """An ImageNet classifier file in the authors' layout, random values."""
    g = torch.Generator().manual_seed(0)
    return {
        k: torch.randn(s, generator=g)
        for k, s in AUTHORS[arch] if k not in drop
    }


def test_import_changes_nothing_in_the_hosts():
    code = '''
import torch.serialization as ser
from mmengine.runner import CheckpointLoader
from mmengine.fileio.backends import registry_utils as ru
before = (list(ser.get_safe_globals()), dict(CheckpointLoader._schemes),
          dict(ru.backends), dict(ru.prefix_to_backends))
import mmconvmlp
after = (list(ser.get_safe_globals()), dict(CheckpointLoader._schemes),
         dict(ru.backends), dict(ru.prefix_to_backends))
print(before == after)
'''
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert out.strip() == 'True'


def test_backbone_loads_an_authors_classifier_over_http(tmp_path, serve):
    state = authors_classifier()
    torch.save(state, tmp_path / 'convmlp_s_imagenet.pth')
    with serve(tmp_path) as url:
        model = ConvMLP(
            's',
            init_cfg=dict(
                type='Pretrained', checkpoint=f'{url}/convmlp_s_imagenet.pth'))
        model.init_weights()
    loaded = model.state_dict()
    assert torch.equal(loaded['stem.0.conv.weight'],
                       state['tokenizer.block.0.weight'])
    assert torch.equal(loaded['stages.2.blocks.1.dwconv.weight'],
                       state['stages.2.blocks.1.connect.weight'])


def test_backbone_refuses_an_incomplete_file(tmp_path):
    path = str(tmp_path / 'partial.pth')
    torch.save(authors_classifier(drop={'stages.0.blocks.1.norm2.bias'}), path)
    model = ConvMLP('s', init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(
            CheckpointError,
            match=r'missing key\(s\): stages\.0'
            r'\.blocks\.1\.norm2\.bias'):
        model.init_weights()


def test_hostile_files_run_nothing(hostile_checkpoint, serve):
    path, marker = hostile_checkpoint
    with serve(osp.dirname(path)) as url:
        for source in (path, f'{url}/{osp.basename(path)}'):
            with pytest.raises(CheckpointError, match='weights-only'):
                load_checkpoint_file(source)
    assert not marker.exists()


def test_every_scheme_is_read_weights_only(hostile_sources):
    """Each prefix MMEngine registers is reached by one of the sources; once
    enabled, each refuses the file by name, through MMEngine's loader and
    through load_checkpoint_file; nothing of it runs."""
    import re

    from mmengine.runner import CheckpointLoader

    from mmconvmlp.models.utils import enable_safe_loading
    sources, marker = hostile_sources
    reached = {
        next(p for p in CheckpointLoader._schemes if re.match(p, source))
        for source in sources
    }
    # https: the http loader (no TLS server here), checked below
    assert reached | {'https://'} == set(CheckpointLoader._schemes)
    enable_safe_loading()
    schemes = CheckpointLoader._schemes
    assert schemes['https://'] is schemes['http://']
    for source in sources:
        for load in (CheckpointLoader.load_checkpoint, load_checkpoint_file):
            with pytest.raises(CheckpointError) as error:
                load(source, 'cpu')
            message = str(error.value)
            assert f'checkpoint {source} refused' in message, message
            assert '--trust-source' in message
    assert not marker.exists()
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ  # undone


def test_sha256_pins(tmp_path, serve):
    import hashlib
    path = tmp_path / 'weights.pth'
    torch.save({'w': torch.ones(2)}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert torch.equal(
        load_checkpoint_file(str(path), sha256=digest)['w'], torch.ones(2))
    with pytest.raises(CheckpointError, match='SHA-256'):
        load_checkpoint_file(str(path), sha256='0' * 64)
    # torch hub's convention: a hash prefix in the file name is checked
    (tmp_path / 'weights-deadbeef.pth').write_bytes(path.read_bytes())
    with serve(tmp_path) as url, pytest.raises(CheckpointError):
        load_checkpoint_file(f'{url}/weights-deadbeef.pth')


@pytest.fixture(scope='module')
def retinanets(repo_root):
    """RetinaNet-ConvMLP-S with 80 classes, and a 3-class one's weights."""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'retinanet_convmlp_s_coco.py'))
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    cfg.model.bbox_head.num_classes = 3
    return model, build_model(cfg).state_dict()


def test_finetune_skips_only_heads_of_another_class_count(retinanets):
    model, state = retinanets
    checkpoint = dict(state_dict=dict(state))
    skipped = check_checkpoint(model, checkpoint, 'finetune', 'three.pth')
    assert skipped == [
        '  bbox_head: 2 shape mismatch(s): bbox_head.retina_cls.weight (file '
        '(27, 256, 3, 3), model (720, 256, 3, 3)), bbox_head.retina_cls.bias '
        '(file (27,), model (720,))'
    ]
    model.load_state_dict(checkpoint['state_dict'])  # exact now
    with pytest.raises(CheckpointMismatchError, match='retina_cls'):
        check_checkpoint(model, dict(state_dict=dict(state)), 'strict')
    partial = {k: v for k, v in state.items() if 'neck.fpn' not in k}
    with pytest.raises(CheckpointMismatchError, match='neck: 10 missing'):
        check_checkpoint(model, dict(state_dict=partial), 'finetune')
    with pytest.raises(CheckpointMismatchError, match='no training state'):
        check_checkpoint(model, dict(state_dict=state), 'resume')


def test_history_buffer_statistics_load_and_no_other_getattr(tmp_path):
    """MMEngine's checkpoints pickle HistoryBuffer statistics as
    getattr(HistoryBuffer, 'min'); only those attributes are reachable."""
    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    buffer.update(2.0)
    torch.save({'hub': buffer, 'stat': HistoryBuffer.min}, tmp_path / 'a.pth')
    loaded = load_checkpoint_file(str(tmp_path / 'a.pth'))
    assert loaded['hub'].current() == 2.0
    assert loaded['stat'] is HistoryBuffer.min
    torch.save({'f': HistoryBuffer.update}, tmp_path / 'b.pth')
    with pytest.raises(CheckpointError, match="'update'.* is not allowed"):
        load_checkpoint_file(str(tmp_path / 'b.pth'))
