"""Loading the authors' checkpoint layouts and this project's own."""
import pytest
import torch

from mmconvmlp import ConvMLP, convert_convmlp_checkpoint
from mmconvmlp.testing.reference import ReferenceConvMLP


def _pretrained(arch, path, **kw):
    model = ConvMLP(
        arch, init_cfg=dict(type='Pretrained', checkpoint=str(path), **kw))
    model.init_weights()
    return model.eval()


def _assert_loaded(model, ref, x=None):
    x = torch.randn(1, 3, 80, 112) if x is None else x
    with torch.no_grad():
        for e, g in zip(ref.eval()(x), model(x)):
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


def test_original_classifier_layout_has_184_keys_for_s():
    sd = ReferenceConvMLP('s', classifier=True).state_dict()
    assert len(sd) == 184
    assert sd['tokenizer.block.0.weight'].shape == (32, 3, 3, 3)
    assert sd['conv_stages.downsample.weight'].shape == (128, 64, 3, 3)
    assert sd['stages.0.blocks.0.channel_mlp1.fc1.weight'].shape == (256, 128)
    assert sd['stages.1.downsample_mlp.downsample.bias'].shape == (512, )


@pytest.mark.parametrize('arch', ['s', 'm', 'l'])
def test_load_released_imagenet_layout(tmp_path, arch):
    ref = ReferenceConvMLP(arch, classifier=True).randomize(seed=3)
    torch.save(ref.state_dict(), tmp_path / 'convmlp_imagenet.pth')
    model = _pretrained(arch, tmp_path / 'convmlp_imagenet.pth')
    converted = convert_convmlp_checkpoint(ref.state_dict())
    # Every parameter and buffer comes from the file; the classifier is
    # ignored.
    assert set(converted) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(v, converted[k]), k
    _assert_loaded(model, ref)


@pytest.mark.parametrize('wrap', ['state_dict', 'model', 'ddp'])
def test_load_detection_layout(tmp_path, wrap):
    """mmdet 2.x / mmseg 0.x files: wrapped, ``backbone.`` prefix, neck/head
    keys."""
    ref = ReferenceConvMLP('s').randomize(seed=4)
    sd = {f'backbone.{k}': v for k, v in ref.state_dict().items()}
    sd['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 64, 1, 1)
    sd['bbox_head.retina_cls.weight'] = torch.zeros(720, 256, 3, 3)
    if wrap == 'ddp':
        obj = {'state_dict': {f'module.{k}': v for k, v in sd.items()}}
    else:
        obj = {
            wrap: sd,
            'meta': {
                'epoch': 12,
                'mmdet_version': '2.11.0',
                'CLASSES': ('a', )
            }
        }
    torch.save(obj, tmp_path / 'retinanet_convmlp_s_coco.pth')
    _assert_loaded(
        _pretrained('s', tmp_path / 'retinanet_convmlp_s_coco.pth'), ref)


def test_load_own_layout_and_explicit_prefix(tmp_path):
    src = ConvMLP('s').eval()
    torch.save(
        {
            'state_dict': {
                f'model.encoder.{k}': v
                for k, v in src.state_dict().items()
            }
        }, tmp_path / 'own.pth')
    model = _pretrained('s', tmp_path / 'own.pth', prefix='model.encoder.')
    for k, v in src.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_conversion_is_pure_and_idempotent():
    sd = ReferenceConvMLP('m', classifier=True).state_dict()
    keys_before = list(sd)
    once = convert_convmlp_checkpoint(
        {'state_dict': {
            f'backbone.{k}': v
            for k, v in sd.items()
        }})
    twice = convert_convmlp_checkpoint(once)
    assert list(sd) == keys_before
    assert list(once) == list(twice) and all(once[k] is twice[k] for k in once)
    assert set(once) == set(ConvMLP('m').state_dict())


def test_missing_keys_raise_and_name_them(tmp_path):
    sd = ReferenceConvMLP('s').state_dict()
    del sd['stages.2.blocks.1.connect.weight']
    del sd['tokenizer.block.4.running_var']
    torch.save(sd, tmp_path / 'partial.pth')
    model = ConvMLP(
        's',
        init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'partial.pth')))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match='2 missing keys') as info:
        model.init_weights()
    assert 'stages.2.blocks.1.dwconv.weight' in str(info.value)
    assert 'stem.1.bn.running_var' in str(info.value)
    # Nothing was loaded.
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_wrong_arch_raises_with_shapes(tmp_path):
    torch.save(ReferenceConvMLP('l').state_dict(), tmp_path / 'l.pth')
    with pytest.raises(
            RuntimeError,
            match=
            r'shape mismatches: .*file \(48, 3, 3, 3\), model \(32, 3, 3, 3\)'
    ):
        _pretrained('s', tmp_path / 'l.pth')


def test_unrelated_file_and_missing_file_raise(tmp_path):
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7)},
               tmp_path / 'resnet.pth')
    with pytest.raises(RuntimeError, match='unexpected key: conv1.weight'):
        _pretrained('s', tmp_path / 'resnet.pth')
    with pytest.raises(
            RuntimeError, match="cannot read checkpoint '.*nowhere.pth'"):
        _pretrained('s', tmp_path / 'nowhere.pth')


def test_pretrained_alias_used_by_mmseg(tmp_path):
    ref = ReferenceConvMLP('s').randomize(seed=5)
    torch.save(ref.state_dict(), tmp_path / 'c.pth')
    model = ConvMLP('s', pretrained=str(tmp_path / 'c.pth'))
    model.init_weights()
    _assert_loaded(model.eval(), ref)
    with pytest.raises(ValueError, match='either `pretrained` or `init_cfg`'):
        ConvMLP(
            's',
            pretrained='a.pth',
            init_cfg=dict(type='Pretrained', checkpoint='b.pth'))


def test_detector_init_weights_loads_backbone(tmp_path):
    """Through mmdet's model building, as a config user gets it."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    ref = ReferenceConvMLP('s').randomize(seed=6)
    torch.save(ref.state_dict(), tmp_path / 'c.pth')
    detector = MODELS.build(
        dict(
            type='RetinaNet',
            data_preprocessor=dict(type='DetDataPreprocessor'),
            backbone=dict(
                type='mmconvmlp.ConvMLP',
                arch='s',
                init_cfg=dict(
                    type='Pretrained', checkpoint=str(tmp_path / 'c.pth'))),
            neck=dict(
                type='FPN',
                in_channels=[64, 128, 256, 512],
                out_channels=32,
                start_level=1,
                add_extra_convs='on_input',
                num_outs=5),
            bbox_head=dict(
                type='RetinaHead',
                num_classes=2,
                in_channels=32,
                feat_channels=32,
                anchor_generator=dict(
                    type='AnchorGenerator',
                    octave_base_scale=4,
                    scales_per_octave=3,
                    ratios=[0.5, 1.0, 2.0],
                    strides=[8, 16, 32, 64, 128]),
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[.0, .0, .0, .0],
                    target_stds=[1.0, 1.0, 1.0, 1.0]),
                loss_cls=dict(
                    type='FocalLoss',
                    use_sigmoid=True,
                    gamma=2.0,
                    alpha=0.25,
                    loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
    detector.init_weights()
    _assert_loaded(detector.backbone.eval(), ref)
