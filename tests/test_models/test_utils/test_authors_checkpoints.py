"""The authors' released COCO / ADE20K models (mmdet 2.x / mmseg 0.x files,
backbone in the original layout) load into whole models on every path, and
files that do not fit are found before they are loaded."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint, load_state_dict

from mmconvmlp.models.utils import (CheckpointMismatchError, check_checkpoint,
                                    check_state_dict, convert_checkpoint,
                                    convert_key, convert_meta,
                                    describe_skipped, original_key)
from mmconvmlp.testing.batches import build_model
from mmconvmlp.testing.checkpoints import (authors_checkpoint, own_layout,
                                           random_classes)
from mmconvmlp.testing.reference import ReferenceConvMLP

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
KINDS = {
    'retinanet': 'retinanet_convmlp_{}_coco',
    'maskrcnn': 'maskrcnn_convmlp_{}_coco',
    'fpn': 'fpn_convmlp_{}_ade20k'
}


def config(kind, arch='s'):
    return osp.join(REPO, 'configs', KINDS[kind].format(arch) + '.py')


def fresh_model(path, **options):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options)
    cfg.model.backbone.init_cfg = None
    return build_model(cfg).eval()


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_convert_key_is_idempotent_and_invertible(arch):
    from mmconvmlp import ConvMLP
    names = list(ReferenceConvMLP(arch, classifier=True).state_dict())
    converted = [convert_key(k) for k in names]
    assert converted.count(None) == 4  # norm.{weight,bias}, head.{weight,bias}
    kept = [(k, c) for k, c in zip(names, converted) if c is not None]
    assert [c for _, c in kept] == list(ConvMLP(arch).state_dict())
    for name, new in kept:
        assert convert_key(new) == new and original_key(new) == name


# ------------------------------------------------- whole models, L and S
@pytest.mark.parametrize('kind,arch', [('retinanet', 'l'), ('maskrcnn', 'l'),
                                       ('fpn', 'l'), ('maskrcnn', 's')])
def test_authors_file_loads_like_own_layout(kind, arch, tmp_path):
    """MMEngine's loader (runner, init_detector, init_model, inferencers):
    an authors'-layout file and the project-layout file of the same weights
    give the same model, whose backbone computes the reference's function."""
    authors, _, reference = authors_checkpoint(config(kind, arch), seed=1)
    torch.save(authors, tmp_path / 'authors.pth')
    torch.save(own_layout(authors), tmp_path / 'own.pth')
    from_authors = fresh_model(config(kind, arch))
    assert check_state_dict(from_authors, authors['state_dict']).ok
    load_checkpoint(from_authors, str(tmp_path / 'authors.pth'), strict=True)
    from_own = fresh_model(config(kind, arch))
    load_checkpoint(from_own, str(tmp_path / 'own.pth'), strict=True)
    own_sd = from_own.state_dict()
    for key, value in from_authors.state_dict().items():
        assert torch.equal(value, own_sd[key]), key
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for e, g in zip(reference.eval()(x), from_authors.backbone(x)):
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


def test_torch_load_state_dict_strict_takes_authors_keys():
    """torch's own loader calls ConvMLP._load_from_state_dict too; the
    classifier's norm/head under backbone. are dropped."""
    authors, _, reference = authors_checkpoint(config('retinanet'), seed=2)
    state_dict = dict(authors['state_dict'])
    classifier = ReferenceConvMLP('s', classifier=True).state_dict()
    state_dict.update({
        f'backbone.{k}': classifier[k]
        for k in ('norm.weight', 'norm.bias', 'head.weight', 'head.bias')
    })
    model = fresh_model(config('retinanet'))
    model.load_state_dict(state_dict, strict=True)
    assert torch.equal(model.backbone.stem[0].conv.weight,
                       reference.tokenizer.block[0].weight)
    # the caller's dict is untouched
    assert 'backbone.head.weight' in state_dict


# ------------------------------------------------------------ reports
@pytest.fixture(scope='module')
def retinanet():
    authors, _, _ = authors_checkpoint(config('retinanet'), seed=3)
    return fresh_model(config('retinanet')), authors['state_dict']


def test_report_names_parts_and_keys_in_the_files_layout(retinanet):
    model, full = retinanet
    state_dict = dict(full)
    del state_dict['backbone.tokenizer.block.0.weight']
    del state_dict[
        'backbone.tokenizer.block.1.num_batches_tracked']  # never required
    del state_dict['neck.lateral_convs.0.conv.bias']
    state_dict['bbox_head.retina_cls.weight'] = torch.zeros(9, 256, 3, 3)
    state_dict['bbox_head.extra.weight'] = torch.zeros(1)
    state_dict = {
        f'module.{k}': v
        for k, v in state_dict.items()
    }  # DDP prefix
    report = check_state_dict(model, state_dict)
    assert [(i.part, i.model_key) for i in report.missing
            ] == [('backbone', 'backbone.stem.0.conv.weight'),
                  ('neck', 'neck.lateral_convs.0.conv.bias')]
    assert report.missing[0].name == (
        "backbone.stem.0.conv.weight "
        "(backbone.tokenizer.block.0.weight in the authors' layout)")
    assert [
        (i.name, i.file_shape, i.model_shape) for i in report.mismatched
    ] == [('bbox_head.retina_cls.weight', (9, 256, 3, 3), (720, 256, 3, 3))]
    assert [i.name for i in report.unexpected] == ['bbox_head.extra.weight']
    assert report.parts() == ['backbone', 'neck', 'bbox_head']
    lines = report.describe()
    assert lines[0].startswith(
        '  backbone: 1 missing key: backbone.stem.0.conv.weight')
    assert lines[2] == (
        '  bbox_head: 1 shape mismatch: bbox_head.retina_cls.weight '
        '(file (9, 256, 3, 3), model (720, 256, 3, 3))')
    assert lines[3] == '  bbox_head: 1 unexpected key: bbox_head.extra.weight'


def test_strict_policy_refuses(retinanet):
    model, full = retinanet
    check_checkpoint(model, {'state_dict': dict(full)}, 'strict',
                     'a.pth')  # fits
    state_dict = dict(full)
    del state_dict['bbox_head.retina_reg.bias']
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint(model, {'state_dict': state_dict}, 'strict', 'a.pth')
    message = str(error.value)
    assert message.startswith(
        'checkpoint a.pth does not fit the model; nothing was loaded')
    assert '  bbox_head: 1 missing key: bbox_head.retina_reg.bias' in message


def test_finetune_skips_head_weights_of_another_class_count():
    """A COCO (80-class) file into the 3-class demo config: the classification
    layer keeps its initial values; everything else comes from the file and
    MMEngine's loader then finds the state dict exact."""
    authors, _, _ = authors_checkpoint(
        config('retinanet'), seed=4, classes=random_classes(80))
    model = fresh_model(
        osp.join(REPO, 'configs/demo/retinanet_convmlp_s_demo.py'))
    initial = model.bbox_head.retina_cls.weight.detach().clone()
    checkpoint = {
        'state_dict': dict(authors['state_dict']),
        'meta': authors['meta']
    }
    skipped = check_checkpoint(model, checkpoint, 'finetune', 'coco.pth')
    assert [i.name for i in skipped.mismatched
            ] == ['bbox_head.retina_cls.weight', 'bbox_head.retina_cls.bias']
    line = describe_skipped(skipped, 'coco.pth')
    assert '\n' not in line
    assert line.startswith(
        'fine-tuning from coco.pth: 2 head tensors keep their initial '
        'values: bbox_head.retina_cls.weight (file (720, 256, 3, 3), '
        'model (27, 256, 3, 3))')
    load_state_dict(model, checkpoint['state_dict'], strict=True)
    assert torch.equal(model.bbox_head.retina_cls.weight, initial)
    assert torch.equal(model.bbox_head.retina_reg.weight,
                       authors['state_dict']['bbox_head.retina_reg.weight'])


def test_finetune_requires_backbone_and_neck(retinanet):
    model, full = retinanet
    state_dict = dict(full)
    del state_dict['backbone.stages.2.blocks.1.connect.weight']
    state_dict['neck.fpn_convs.0.conv.weight'] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint(model, {'state_dict': state_dict}, 'finetune',
                         'a.pth')
    message = str(error.value)
    assert 'backbone.stages.2.blocks.1.connect.weight' in message
    assert '  neck: 1 shape mismatch: neck.fpn_convs.0.conv.weight' in message
    assert 'fine-tuning needs every backbone and neck weight' in message
    # A backbone-only file (ImageNet weights) is not a load_from file.
    backbone_only = ReferenceConvMLP('s').state_dict()
    with pytest.raises(
            CheckpointMismatchError, match="init_cfg=dict.type='Pretrained'"):
        check_checkpoint(model, backbone_only, 'finetune', 'imagenet.pth')


def test_resume_needs_training_state(retinanet):
    model, full = retinanet
    with pytest.raises(CheckpointMismatchError, match='it cannot be resumed'):
        check_checkpoint(model, {
            'state_dict': dict(full),
            'meta': {
                'epoch': 12
            }
        }, 'resume', 'a.pth')
    check_checkpoint(
        model, {
            'state_dict': dict(full),
            'message_hub': {},
            'meta': {
                'epoch': 1,
                'iter': 2
            }
        }, 'resume', 'a.pth')
    with pytest.raises(ValueError, match='policy must be one of'):
        check_checkpoint(model, {}, 'lenient')


# ---------------------------------------------------------- conversion
def test_convert_checkpoint_whole_model_and_meta():
    classes, palette = random_classes(150), [(i, i, i) for i in range(150)]
    authors, others, _ = authors_checkpoint(
        config('fpn'), seed=5, classes=classes, palette=palette)
    once = convert_checkpoint(authors)
    assert list(once) == ['meta', 'state_dict']
    meta = once['meta']
    assert meta['dataset_meta'] == {
        'classes': classes,
        'palette': [list(c) for c in palette]
    }
    assert 'CLASSES' not in meta and meta['mmseg_version'] == '0.17.0'
    assert 'mmconvmlp_version' in meta
    assert list(once['state_dict']) == list(
        fresh_model(config('fpn')).state_dict())
    for key, value in others.items():
        assert once['state_dict'][key] is value
    twice = convert_checkpoint(once)
    assert twice['meta'] == meta
    assert list(twice['state_dict']) == list(once['state_dict'])
    assert all(twice['state_dict'][k] is v
               for k, v in once['state_dict'].items())
    assert 'CLASSES' in authors['meta']  # the input is not modified


def test_convert_meta_names_from_elsewhere():
    assert convert_meta(None)['mmconvmlp_version']
    assert 'dataset_meta' not in convert_meta({'epoch': 3})
    cfg_names = {'classes': ('a', 'b'), 'palette': [(1, 2, 3), (4, 5, 6)]}
    assert convert_meta({}, cfg_names)['dataset_meta'] == cfg_names
    # The file's names win; the fallback's palette belongs to other names.
    assert convert_meta({'CLASSES': ('x', )}, cfg_names)['dataset_meta'] == {
        'classes': ('x', )
    }


def test_convert_backbone_only_classifier():
    sd = ReferenceConvMLP('s', classifier=True).state_dict()
    out = convert_checkpoint({f'module.{k}': v for k, v in sd.items()})
    assert 'dataset_meta' not in out['meta']
    assert 'norm.weight' not in out[
        'state_dict'] and 'stem.0.conv.weight' in out['state_dict']


# ------------------------------------------- MMDetection / MMSegmentation APIs
def test_init_detector_reads_authors_file(tmp_path):
    from mmdet.apis import init_detector
    classes = random_classes(80)
    authors, others, _ = authors_checkpoint(
        config('retinanet'), seed=6, classes=classes)
    torch.save(authors, tmp_path / 'retinanet_convmlp_s_coco.pth')
    model = init_detector(
        config('retinanet'),
        str(tmp_path / 'retinanet_convmlp_s_coco.pth'),
        device='cpu')
    assert model.dataset_meta['classes'] == classes
    assert check_state_dict(model, own_layout(authors)['state_dict']).ok
    own = own_layout(authors)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, own[key]), key


def test_mmseg_init_model_reads_authors_file(tmp_path):
    from mmseg.apis import init_model
    classes, palette = random_classes(150), [[i, 0, 255 - i]
                                             for i in range(150)]
    authors, _, _ = authors_checkpoint(
        config('fpn', 'l'), seed=7, classes=classes, palette=palette)
    torch.save(authors, tmp_path / 'sem_fpn_convmlp_l_ade20k.pth')
    model = init_model(
        config('fpn', 'l'),
        str(tmp_path / 'sem_fpn_convmlp_l_ade20k.pth'),
        device='cpu')
    assert model.dataset_meta == {'classes': classes, 'palette': palette}
    own = own_layout(authors)['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, own[key]), key
