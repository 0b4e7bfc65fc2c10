"""Shared fixtures of the test suite."""
import contextlib
import functools
import http.server
import importlib.util
import os
import os.path as osp
import shlex
import shutil
import sys
import threading
import types

import pytest

os.environ.setdefault('OMP_NUM_THREADS', '2')
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The tests' helper modules (tests/batches.py, tests/tiny_data.py);
# mmsegmentation installs a top-level package named `tests`, so they are
# imported by their own names.
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True)
def _seed():
    import torch
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def repo_root() -> str:
    """The repository's root folder (configs/ and tools/ are below it)."""
    return REPO


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory) -> str:
    """A tiny dataset in the COCO 2017 layout (4 train, 2 val images of
    128x128, COCO's 80 categories), as the paper configs read it."""
    from tiny_data import generate_tiny_coco
    return generate_tiny_coco(str(tmp_path_factory.mktemp('data') / 'coco'))


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory) -> str:
    """A tiny dataset in the ADEChallengeData2016 layout (4 train, 2 val)."""
    from tiny_data import generate_tiny_ade20k
    return generate_tiny_ade20k(
        str(tmp_path_factory.mktemp('data') / 'ADEChallengeData2016'))


@pytest.fixture
def tiny_coco(coco_root, tmp_path):
    """A fresh copy of ``coco_root``, for a test to break."""
    import shutil
    return shutil.copytree(coco_root, tmp_path / 'coco')


@pytest.fixture(scope='session')
def tool_main():
    """``tool_main(name, argv)`` runs ``tools/<name>.py``'s ``main`` in this
    process as its ``__main__`` block does, and returns the exit status."""
    from batches import reset_mmengine_globals

    from mmconvmlp.utils import run_tool
    modules = {}

    def run(name: str, argv) -> int:
        reset_mmengine_globals()
        if name not in modules:
            spec = importlib.util.spec_from_file_location(
                '_tool_' + name.replace('/', '_'),
                osp.join(REPO, 'tools', f'{name}.py'))
            modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(modules[name])
        return run_tool(modules[name].main, list(argv))

    return run


class _RunsCommand:
    """Unpickling this object runs ``command`` in a shell."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


@pytest.fixture
def hostile_checkpoint(tmp_path):
    """``(path, marker)``: a plausible checkpoint whose unpickling would
    create the file ``marker``; no marker afterwards shows nothing ran."""
    import torch
    marker = tmp_path / 'ran'
    path = tmp_path / 'hostile.pth'
    torch.save(
        dict(
            meta=dict(epoch=1, iter=2),
            state_dict={'backbone.stem.0.conv.weight': torch.zeros(1)},
            payload=_RunsCommand(f'touch {shlex.quote(str(marker))}')), path)
    return str(path), marker


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _serve(root):
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def serve(tmp_path, monkeypatch):
    """``serve(folder)``: a context manager serving ``folder`` over http on
    127.0.0.1, yielding its base URL; torch hub's cache goes to tmp_path."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return _serve


@pytest.fixture
def hostile_sources(hostile_checkpoint, serve, monkeypatch):
    """``(sources, marker)``: ``hostile_checkpoint`` through every scheme of
    MMEngine's ``CheckpointLoader``: its path; http on 127.0.0.1; the name
    schemes (``torchvision://``, ``modelzoo://``, ``open-mmlab://`` to a URL,
    ``openmmlab://`` to a file, ``mmcls://``) with their tables pointing at
    it; ``pavi://``, ``s3://`` and ``petrel://`` with their clients replaced
    by readers of the file. ``CheckpointLoader``'s table is restored after
    the test."""
    import mmengine.runner.checkpoint as ckpt
    path, marker = hostile_checkpoint
    monkeypatch.setattr(ckpt.CheckpointLoader, '_schemes',
                        ckpt.CheckpointLoader._schemes.copy())
    with serve(osp.dirname(path)) as base:
        url = f'{base}/{osp.basename(path)}'
        table = dict(hostile=url)
        for name in ('get_torchvision_models', 'get_mmcls_models'):
            monkeypatch.setattr(ckpt, name, lambda: table)
        monkeypatch.setattr(ckpt, 'get_external_models',
                            lambda: dict(table, hostile_file=path))
        monkeypatch.setattr(
            ckpt, 'get_file_backend',
            lambda *args, **kwargs: types.SimpleNamespace(get=lambda _: open(
                path, 'rb').read()))
        pavi_model = types.SimpleNamespace(
            name='hostile.pth', download=lambda dst: shutil.copy(path, dst))
        monkeypatch.setitem(
            sys.modules, 'pavi',
            types.SimpleNamespace(
                modelcloud=types.SimpleNamespace(get=lambda _: pavi_model)))
        yield [
            path, url, 'torchvision://hostile', 'modelzoo://hostile',
            'open-mmlab://hostile', 'openmmlab://hostile_file',
            'mmcls://hostile', 'pavi://hostile', 's3://bucket/hostile.pth',
            'petrel://bucket/hostile.pth'
        ], marker
