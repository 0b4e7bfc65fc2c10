"""The authors' released COCO and ADE20K models through the tools and the
MMDetection / MMSegmentation inference APIs, with files of the released
layout and random values: tools/test.py evaluates them exactly as files of
this project's layout, refuses files that do not fit before evaluating,
tools/train.py fine-tunes from them into another class count and resumes
strictly, the inferencers take their class names, and the converter writes
this project's layout."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from mmconvmlp.testing.checkpoints import (authors_checkpoint, own_layout,
                                           random_classes)
from mmconvmlp.testing.tool_options import DET_TINY, SEG_TINY

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = 'model_converters/convmlp2mmconvmlp'
MODELS = {
    # kind: (config, tiny options, option that keeps every prediction)
    'retinanet':
    ('retinanet_convmlp_s_coco', DET_TINY, 'model.test_cfg.score_thr=0.0'),
    'maskrcnn':
    ('maskrcnn_convmlp_s_coco', DET_TINY, 'model.test_cfg.rcnn.score_thr=0.0'),
    'fpn': ('fpn_convmlp_s_ade20k', SEG_TINY, None),
}


def config(name):
    return osp.join(REPO, 'configs', name + '.py')


@pytest.fixture(scope='module')
def retinanet_file(tmp_path_factory):
    """An authors'-layout RetinaNet-S COCO file (80 class names in meta)."""
    checkpoint, _, _ = authors_checkpoint(
        config('retinanet_convmlp_s_coco'),
        seed=11,
        classes=random_classes(80))
    path = tmp_path_factory.mktemp('ckpt') / 'retinanet_convmlp_s_coco.pth'
    torch.save(checkpoint, path)
    return str(path), checkpoint


def tool_argv(kind, checkpoint, work_dir, data_root, *extra):
    """tools/test.py arguments for a tiny run; a run name of its own (runs
    started in the same second would share a logger)."""
    name, tiny, keep_all = MODELS[kind]
    options = [*tiny, f'experiment_name={osp.basename(work_dir)}', *extra]
    if keep_all:
        options.append(keep_all)
    return [
        config(name),
        str(checkpoint), '--work-dir',
        str(work_dir), '--data-root', data_root, '--cfg-options', *options
    ]


def same(a, b, where='result'):
    """Exact equality of nested predictions (tensors, arrays, RLE dicts)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            same(a[key], b[key], f'{where}[{key!r}]')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


# ------------------------------------------------------------ tools/test.py
@pytest.mark.parametrize(
    'kind',
    ['retinanet',
     pytest.param('maskrcnn', marks=pytest.mark.slow), 'fpn'])
def test_test_tool_authors_file_predicts_as_own_layout(kind, tmp_path,
                                                       tool_main, coco_root,
                                                       ade_root):
    name, _, _ = MODELS[kind]
    classes = random_classes(150 if kind == 'fpn' else 80)
    authors, _, _ = authors_checkpoint(config(name), seed=12, classes=classes)
    data_root = ade_root if kind == 'fpn' else coco_root
    outputs = {}
    for layout, checkpoint in (('authors', authors), ('own',
                                                      own_layout(authors))):
        torch.save(checkpoint, tmp_path / f'{layout}.pth')
        out = tmp_path / (f'{layout}_maps'
                          if kind == 'fpn' else f'{layout}.pkl')
        code = tool_main(
            'test',
            tool_argv(
                kind,
                tmp_path / f'{layout}.pth',
                tmp_path / f'work_{kind}_{layout}',
                data_root,
            ) + ['--out', str(out)])
        assert code == 0
        outputs[layout] = out
    if kind == 'fpn':
        maps = sorted(p.name for p in outputs['authors'].glob('*.png'))
        assert len(maps) == 2
        for map_name in maps:
            assert (outputs['authors'] / map_name).read_bytes() == \
                (outputs['own'] / map_name).read_bytes(), map_name
        return
    with open(outputs['authors'], 'rb') as f:
        from_authors = pickle.load(f)
    with open(outputs['own'], 'rb') as f:
        from_own = pickle.load(f)
    assert len(from_authors) == 2
    assert all(len(r['pred_instances']['bboxes']) > 0 for r in from_authors)
    same(from_authors, from_own)


def _remove(key):

    def edit(state_dict):
        del state_dict[key]

    return edit


def _reshape(key):

    def edit(state_dict):
        state_dict[key] = torch.zeros(3, *state_dict[key].shape[1:])

    return edit


# (kind, edit of the authors' file, expected lines of the message)
BROKEN = {
    'backbone key':
    ('retinanet', _remove('backbone.conv_stages.conv_blocks.1.4.running_mean'),
     [
         '  backbone: 1 missing key: backbone.conv_stage.blocks.1.layers.1.bn'
         '.running_mean (backbone.conv_stages.conv_blocks.1.4.running_mean in '
         "the authors' layout)"
     ]),
    'head key': ('retinanet', _remove('bbox_head.retina_reg.weight'),
                 ['  bbox_head: 1 missing key: bbox_head.retina_reg.weight']),
    'neck shape': ('retinanet', _reshape('neck.fpn_convs.2.conv.weight'), [
        '  neck: 1 shape mismatch: neck.fpn_convs.2.conv.weight (file '
        '(3, 256, 3, 3), model (256, 256, 3, 3))'
    ]),
    'roi head shape':
    ('maskrcnn', _reshape('roi_head.bbox_head.fc_cls.weight'), [
        '  roi_head: 1 shape mismatch: roi_head.bbox_head.fc_cls.weight '
        '(file (3, 1024), model (81, 1024))'
    ]),
    'decode head key':
    ('fpn', _remove('decode_head.conv_seg.bias'),
     ['  decode_head: 1 missing key: decode_head.conv_seg.bias']),
}


@pytest.mark.parametrize('case', list(BROKEN))
def test_test_tool_refuses_file_that_does_not_fit(case, tmp_path, tool_main,
                                                  capsys, coco_root, ade_root):
    kind, edit, expected = BROKEN[case]
    checkpoint, _, _ = authors_checkpoint(config(MODELS[kind][0]), seed=13)
    edit(checkpoint['state_dict'])
    torch.save(checkpoint, tmp_path / 'broken.pth')
    out = tmp_path / ('maps' if kind == 'fpn' else 'out.pkl')
    code = tool_main(
        'test',
        tool_argv(kind, tmp_path / 'broken.pth', tmp_path / 'work',
                  ade_root if kind == 'fpn' else coco_root) +
        ['--out', str(out)])
    captured = capsys.readouterr()
    assert code == 1
    message = captured.err[captured.err.index(
        'error: '):]  # after library warnings
    assert message.startswith(
        f'error: checkpoint {tmp_path / "broken.pth"} does not '
        'fit the model; nothing was loaded:\n')
    assert message.splitlines()[1:1 + len(expected)] == expected
    assert 'Traceback' not in captured.err
    # Nothing evaluated (mmseg's evaluator makes its output folder when built).
    assert 'Iter(test)' not in captured.out
    assert not out.exists() or (out.is_dir() and not any(out.iterdir()))


# ----------------------------------------------------------- tools/train.py
def test_finetune_from_coco_file_into_three_classes(retinanet_file, tmp_path,
                                                    tool_main, capsys,
                                                    coco_root):
    """The 3-class demo config from an 80-class COCO file: the classification
    layer keeps its initial values (one summary line), every other weight
    comes from the file (learning rate 0 keeps them for the check)."""
    from mmconvmlp.testing.data import CLASSES, TINY_COCO_NAMES
    path, checkpoint = retinanet_file
    work_dir = tmp_path / 'finetune'
    # The demo config on the tiny dataset, whose 3 classes have other names
    # (in a config file: --cfg-options drops the spaces of names).
    classes = tuple(TINY_COCO_NAMES[name] for name in CLASSES)
    tiny_demo = tmp_path / 'tiny_demo.py'
    tiny_demo.write_text(
        f"_base_ = [{config('demo/retinanet_convmlp_s_demo')!r}]\n"
        f"metainfo = dict(classes={classes!r})\n" +
        ''.join(f'{loader} = dict(dataset=dict(metainfo=metainfo))\n'
                for loader in ('train_dataloader', 'val_dataloader',
                               'test_dataloader')))
    code = tool_main('train', [
        str(tiny_demo), '--work-dir',
        str(work_dir), '--data-root', coco_root, '--cfg-options', *DET_TINY,
        f'experiment_name={work_dir.name}', f'load_from={path}',
        'optim_wrapper.optimizer.lr=0.0'
    ])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if 'fine-tuning from' in line]
    assert len(lines) == 1, out[-3000:]
    assert ('2 head tensors keep their initial values: '
            'bbox_head.retina_cls.weight (file (720, 256, 3, 3), '
            'model (27, 256, 3, 3)), bbox_head.retina_cls.bias') in lines[0]
    assert 'do not match exactly' not in out
    trained = torch.load(
        work_dir / 'epoch_1.pth', map_location='cpu')['state_dict']
    own = own_layout(checkpoint)['state_dict']
    for key in ('backbone.stem.0.conv.weight',
                'backbone.stages.2.blocks.1.dwconv.weight',
                'neck.fpn_convs.0.conv.weight', 'bbox_head.retina_reg.weight'):
        assert torch.equal(trained[key], own[key]), key
    assert trained['bbox_head.retina_cls.weight'].shape == (27, 256, 3, 3)


def test_finetune_refuses_another_backbone(tmp_path, tool_main, capsys,
                                           coco_root):
    """An L file into an S config: the backbone does not fit, nothing
    trains."""
    checkpoint, _, _ = authors_checkpoint(
        config('retinanet_convmlp_l_coco'), seed=14)
    torch.save(checkpoint, tmp_path / 'l.pth')
    code = tool_main('train', [
        config('retinanet_convmlp_s_coco'), '--work-dir',
        str(tmp_path / 'work'), '--data-root', coco_root, '--cfg-options',
        *DET_TINY, f'load_from={tmp_path / "l.pth"}',
        'experiment_name=finetune_l_into_s'
    ])
    captured = capsys.readouterr()
    assert code == 1
    assert 'fine-tuning needs every backbone and neck weight' in captured.err
    assert '  backbone: ' in captured.err and '  neck: ' in captured.err
    assert 'Epoch(train)' not in captured.out


def test_resume_is_strict(retinanet_file, tmp_path, tool_main, capsys,
                          coco_root):
    path, checkpoint = retinanet_file
    common = ['--work-dir', str(tmp_path / 'work'), '--data-root', coco_root]
    # A file of the right model, with training state, but one wrongly shaped
    # head tensor.
    state = own_layout(checkpoint)
    state['state_dict']['bbox_head.retina_cls.bias'] = torch.zeros(27)
    state.update(meta=dict(epoch=1, iter=2), message_hub=dict())
    torch.save(state, tmp_path / 'epoch_1.pth')
    code = tool_main('train', [
        config('retinanet_convmlp_s_coco'), *common, '--resume',
        str(tmp_path / 'epoch_1.pth'), '--cfg-options', *DET_TINY,
        'experiment_name=resume_mismatch'
    ])
    err = capsys.readouterr().err
    assert code == 1
    assert ('  bbox_head: 1 shape mismatch: bbox_head.retina_cls.bias '
            '(file (27,), model (720,))') in err
    # The authors' file has no training state to resume.
    code = tool_main('train', [
        config('retinanet_convmlp_s_coco'), *common, '--resume', path,
        '--cfg-options', *DET_TINY, 'experiment_name=resume_authors'
    ])
    err = capsys.readouterr().err
    assert code == 1
    assert 'it cannot be resumed' in err and f'load_from={path}' in err


# ----------------------------------------------------------- inferencers
def test_det_inferencer_takes_authors_file_and_its_class_names(
        retinanet_file, tmp_path, tool_main):
    from mmdet.apis import DetInferencer
    from mmdet.datasets import CocoDataset
    path, checkpoint = retinanet_file
    inferencer = DetInferencer(
        model=config('retinanet_convmlp_s_coco'),
        weights=path,
        device='cpu',
        show_progress=False)
    classes = checkpoint['meta']['CLASSES']
    assert inferencer.model.dataset_meta['classes'] == classes
    assert inferencer.visualizer.dataset_meta['classes'] == classes
    own = own_layout(checkpoint)['state_dict']
    for key, value in inferencer.model.state_dict().items():
        assert torch.equal(value, own[key]), key
    image = np.random.default_rng(0).integers(
        0, 255, (96, 128, 3), dtype=np.uint8)
    result = inferencer(image, pred_score_thr=0.0, return_vis=True)
    assert len(result['predictions'][0]['labels']) > 0 and len(
        result['visualization']) == 1
    # A file without names: the stock fallback is mmdet's COCO list (spelt
    # 'traffic_light'); the converter writes the config's names into the file.
    meta = {k: v for k, v in checkpoint['meta'].items() if k != 'CLASSES'}
    torch.save(dict(checkpoint, meta=meta), tmp_path / 'no_names.pth')
    assert tool_main(CONVERTER, [
        str(tmp_path / 'no_names.pth'),
        str(tmp_path / 'named.pth'), '--config',
        config('retinanet_convmlp_s_coco')
    ]) == 0
    inferencer = DetInferencer(
        model=config('retinanet_convmlp_s_coco'),
        weights=str(tmp_path / 'named.pth'),
        device='cpu')
    assert inferencer.model.dataset_meta['classes'] == CocoDataset.METAINFO[
        'classes']


def test_mmseg_inferencer_takes_authors_file_and_its_class_names(tmp_path):
    from mmseg.apis import MMSegInferencer
    classes, palette = random_classes(150), [[i, 255 - i, 0]
                                             for i in range(150)]
    checkpoint, _, _ = authors_checkpoint(
        config('fpn_convmlp_s_ade20k'),
        seed=15,
        classes=classes,
        palette=palette)
    torch.save(checkpoint, tmp_path / 'sem_fpn_convmlp_s_ade20k.pth')
    inferencer = MMSegInferencer(
        model=config('fpn_convmlp_s_ade20k'),
        weights=str(tmp_path / 'sem_fpn_convmlp_s_ade20k.pth'),
        device='cpu')
    assert inferencer.model.dataset_meta == {
        'classes': classes,
        'palette': palette
    }
    own = own_layout(checkpoint)['state_dict']
    for key, value in inferencer.model.state_dict().items():
        assert torch.equal(value, own[key]), key
    image = np.random.default_rng(0).integers(
        0, 255, (64, 96, 3), dtype=np.uint8)
    result = inferencer(image)
    assert result['predictions'].shape == (64, 96)


# ----------------------------------------------------------------- converter
def test_converter_writes_own_layout_and_is_idempotent(retinanet_file,
                                                       tmp_path, tool_main):
    path, checkpoint = retinanet_file
    once, twice = tmp_path / 'once.pth', tmp_path / 'twice.pth'
    assert tool_main(CONVERTER, [path, str(once)]) == 0
    assert tool_main(CONVERTER, [str(once), str(twice)]) == 0
    first = torch.load(once, map_location='cpu')
    same(first, torch.load(twice, map_location='cpu'))
    assert first['meta']['dataset_meta'] == {
        'classes': checkpoint['meta']['CLASSES']
    }
    assert first['meta'][
        'mmdet_version'] == '2.11.0' and 'mmconvmlp_version' in first['meta']
    own = own_layout(checkpoint)['state_dict']
    assert list(first['state_dict']) == list(own)
    same(first['state_dict'], own)
