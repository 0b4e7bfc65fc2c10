"""A hostile checkpoint (its unpickling would create a marker file) given to
each tool through each scheme of MMEngine's CheckpointLoader is refused by
name, and nothing of it runs; the refusal's advice works on a file one
trusts."""
import importlib.util
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
DEMO = osp.join(REPO, 'configs', 'demo', 'retinanet_convmlp_s_demo.py')
TINY = [
    'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False'
]


def _onnx(source, coco_root, tool_main, tmp_path):
    spec = importlib.util.spec_from_file_location(
        '_tool_pytorch2onnx',
        osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([RETINANET, source, '--out', str(tmp_path / 'x.onnx')])


def _stock_runner(source, coco_root, tool_main, tmp_path):
    """What mmdet's tools/test.py does with the config: Runner.from_cfg and
    test; the config's SafeLoadingHook is the only protection."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmconvmlp.models.utils import CheckpointError
    cfg = Config.fromfile(RETINANET)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in TINY[:1]))
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.data_root = coco_root + '/'
    cfg.test_evaluator.ann_file = osp.join(coco_root, 'annotations',
                                           'instances_val2017.json')
    cfg.update(work_dir=str(tmp_path / 'runner'), load_from=source)
    try:
        Runner.from_cfg(cfg).test()
    except CheckpointError as e:
        print(f'error: {e}')
        return 1
    return 0


TOOLS = {
    'test':
    lambda source, coco_root, tool_main, tmp_path: tool_main(
        'test',
        [RETINANET, source, '--data-root', coco_root, '--cfg-options', *TINY]),
    'train load_from':
    lambda source, coco_root, tool_main, tmp_path: tool_main(
        'train', [
            RETINANET, '--work-dir',
            str(tmp_path / 'train'), '--data-root', coco_root, '--cfg-options',
            *TINY, f'load_from={source}'
        ]),
    'infer':
    lambda source, coco_root, tool_main, tmp_path: tool_main(
        'infer',
        [DEMO, source, coco_root, '--out-dir',
         str(tmp_path / 'infer')]),
    'convert':
    lambda source, coco_root, tool_main, tmp_path: tool_main(
        'model_converters/convmlp2mmconvmlp',
        [source, str(tmp_path / 'out.pth')]),
    'pytorch2onnx':
    _onnx,
    'stock runner':
    _stock_runner,
}


@pytest.mark.slow
@pytest.mark.parametrize('tool', list(TOOLS))
def test_every_tool_refuses_it_through_every_scheme(tool, hostile_sources,
                                                    coco_root, tool_main,
                                                    tmp_path, capsys,
                                                    monkeypatch):
    sources, marker = hostile_sources
    if tool == 'stock runner':
        _stock_loaders(monkeypatch)
    for source in sources:
        assert TOOLS[tool](source, coco_root, tool_main, tmp_path) == 1
        out = capsys.readouterr()
        assert f'checkpoint {source} refused' in out.out + out.err, source
    assert not marker.exists()


def _stock_loaders(monkeypatch):
    """MMEngine's own loaders in CheckpointLoader's table for this test
    (the in-process runs of our tools replaced them)."""
    import mmengine.runner.checkpoint as ckpt
    stock = {
        p: getattr(f, '__wrapped__', f)
        for p, f in ckpt.CheckpointLoader._schemes.items()
    }
    stock[''] = ckpt.load_from_local
    stock['http://'] = stock['https://'] = ckpt.load_from_http
    monkeypatch.setattr(ckpt.CheckpointLoader, '_schemes', stock)


def test_each_tool_refuses_it(hostile_sources, coco_root, tool_main, tmp_path,
                              capsys, monkeypatch):
    """The fast subset: every tool through one name scheme (the slow test
    above takes every scheme)."""
    sources, marker = hostile_sources
    source = 'open-mmlab://hostile'
    for tool in TOOLS:
        if tool == 'stock runner':
            _stock_loaders(monkeypatch)
        assert TOOLS[tool](source, coco_root, tool_main, tmp_path) == 1, tool
        out = capsys.readouterr()
        assert f'checkpoint {source} refused' in out.out + out.err, tool
    assert not marker.exists()


def test_advice_for_a_refused_file_works(tmp_path, tool_main, capsys):
    """The refusal names --trust-source; with it the converter writes a file
    that torch.load(weights_only=True) reads; a meta it cannot write in
    plain types is named and nothing is written. (``argparse.Namespace``:
    a class weights-only loading refuses, as in files other code writes.)"""
    from argparse import Namespace
    state = {'backbone.stem.0.conv.weight': torch.ones(2)}
    src, dst = str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')
    torch.save(
        dict(state_dict=state, extra=Namespace(a=1), meta=dict(a=1)), src)
    assert tool_main('model_converters/convmlp2mmconvmlp', [src, dst]) == 1
    assert '--trust-source' in capsys.readouterr().err
    assert tool_main('model_converters/convmlp2mmconvmlp',
                     ['--trust-source', src, dst]) == 0
    out = torch.load(dst, weights_only=True)
    assert torch.equal(out['state_dict']['backbone.stem.0.conv.weight'],
                       torch.ones(2))
    torch.save(dict(state_dict=state, meta=dict(a=Namespace(a=1))), src)
    dst2 = tmp_path / 'dst2.pth'
    assert tool_main('model_converters/convmlp2mmconvmlp',
                     ['--trust-source', src, str(dst2)]) == 1
    assert 'argparse.Namespace' in capsys.readouterr(
    ).err and not dst2.exists()


def test_converter_rewrites_a_checkpoint_without_the_plain_hook(
        tmp_path, tool_main):
    """docs/inference.md's one-line fix: a file as MMEngine writes it (its
    message hub's HistoryBuffer, numpy inside) becomes one that
    torch.load(weights_only=True) reads, weights and meta kept."""
    import pickle

    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('converter_plain_test')
    hub.update_scalar('train/loss', 0.5)
    state = {'backbone.stem.0.conv.weight': torch.arange(3.)}
    meta = dict(iter=1, dataset_meta=dict(classes=('a', 'b')))
    src, dst = tmp_path / 'old.pth', tmp_path / 'new.pth'
    torch.save(
        dict(meta=meta, state_dict=state, message_hub=hub.state_dict()), src)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(src, weights_only=True)
    assert tool_main('model_converters/convmlp2mmconvmlp',
                     [str(src), str(dst)]) == 0
    out = torch.load(dst, weights_only=True)
    assert torch.equal(out['state_dict']['backbone.stem.0.conv.weight'],
                       torch.arange(3.))
    assert out['meta'] == meta
