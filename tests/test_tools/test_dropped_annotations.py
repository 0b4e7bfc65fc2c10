"""COCO annotations that MMDetection drops are named before training: by
tools/train.py (which stops), tools/test.py and tools/misc/check_dataset.py.
The oracle of what is dropped is MMDetection's own CocoDataset."""
import json
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
MASKRCNN = osp.join(REPO, 'configs', 'maskrcnn_convmlp_s_coco.py')
TRAIN_ANN = osp.join('annotations', 'instances_train2017.json')


def edit_annotations(root, edit):
    path = osp.join(root, TRAIN_ANN)
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def mmdet_drops(root):
    """Ids of the annotations that MMDetection's CocoDataset does not keep
    (its parsed boxes compared with the file's)."""
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(
        data_root=root,
        ann_file=TRAIN_ANN,
        data_prefix=dict(img='train2017/'),
        pipeline=[],
        test_mode=True)
    with open(osp.join(root, TRAIN_ANN)) as f:
        anns = json.load(f)['annotations']
    kept = {(info['img_id'], tuple(inst['bbox']))
            for info in dataset.load_data_list()
            for inst in info['instances']}
    return [
        a['id'] for a in anns
        if (a['image_id'],
            (a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
             a['bbox'][1] + a['bbox'][3])) not in kept
    ]


@pytest.fixture
def bad_coco(tiny_coco):
    """The tiny COCO data with three bad boxes in image 1, which keeps
    others, and image 2's only box flipped: ``(root, {id: reason})``."""
    root = str(tiny_coco)
    with open(osp.join(root, TRAIN_ANN)) as f:
        anns = json.load(f)['annotations']
    per_image = {}
    for ann in anns:
        per_image.setdefault(ann['image_id'], []).append(ann['id'])
    # An image with 3+ boxes loses 2 (one stays), one with 1 box loses it.
    many = next(i for i, ids in per_image.items() if len(ids) >= 3)
    single = next(i for i, ids in per_image.items() if len(ids) == 1)
    neg, out, kept = per_image[many][:3]
    (flip, ) = per_image[single]

    def edit(data):
        anns = {ann['id']: ann for ann in data['annotations']}
        data['annotations'].append(
            json.loads(json.dumps(anns[kept]))
            | dict(id=999, category_id=4242, bbox=[1.0, 1.0, 5.0, 5.0]))
        for ann_id in (neg, flip):  # a converter's sign bug
            anns[ann_id]['bbox'][2] = -anns[ann_id]['bbox'][2]
        anns[out]['bbox'][0] = 1000.0  # right of the 128-pixel image

    edit_annotations(root, edit)
    expected = {  # id: (reason, image id)
        neg: ('box under one pixel or negative', many),
        flip: ('box under one pixel or negative', single),
        out: ('box outside the image', many),
        999: ('category id not in the classes', many)
    }
    return root, expected, single


def test_train_names_every_dropped_annotation_and_stops(
        bad_coco, tool_main, capsys):
    root, expected, single = bad_coco
    assert sorted(mmdet_drops(root)) == sorted(expected)  # the oracle
    args = [
        RETINANET, '--data-root', root, '--cfg-options',
        'model.backbone.init_cfg=None'
    ]
    assert tool_main('train', args) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 2, err  # one message (two lines)
    assert f'{osp.join(root, TRAIN_ANN)}: MMDetection will not train on 4 ' \
        'of ' in err
    for ann_id, (reason, image) in expected.items():
        assert f'annotation {ann_id} in image {image} {image:012d}.jpg' in err
    flip = next(a for a, (_, i) in expected.items() if i == single)
    assert (f'Stopped: image {single} {single:012d}.jpg loses all of its '
            f'annotations ({flip})') in err
    assert 'Fix the annotations, or pass --allow-dropped to go on.' in err


def test_check_dataset_reports_the_same_and_allow_dropped_goes_on(
        bad_coco, tool_main, capsys):
    root, expected, single = bad_coco
    args = [RETINANET, '--data-root', root, '--split', 'train']
    assert tool_main('misc/check_dataset', args) == 1
    out, err = capsys.readouterr()
    for ann_id, (reason, image) in expected.items():
        assert (f'annotation {ann_id} of image {image} {image:012d}.jpg: '
                f'{reason}\n') in out
    (warning, ) = [
        line for line in out.splitlines() if 'will not train on' in line
    ]
    assert ' - WARNING - ' in warning and ' on 4 of 9 annotations' in warning
    assert f'image {single} {single:012d}.jpg loses all of its annotations' \
        in err
    assert tool_main('misc/check_dataset', args + ['--allow-dropped']) == 0


def test_a_small_share_is_a_warning(tiny_coco, tool_main, capsys):
    """One bad box among 120 (under 1 %) in images that keep others."""
    root = str(tiny_coco)

    def edit(data):
        first = data['annotations'][0]
        data['annotations'] = [
            dict(first, id=i + 1, bbox=[1.0 + i % 10, 1.0, 8.0, 8.0])
            for i in range(120)
        ]
        data['annotations'][5]['bbox'][3] = 0.5

    edit_annotations(root, edit)
    assert mmdet_drops(root) == [6]
    args = [RETINANET, '--data-root', root, '--split', 'train']
    assert tool_main('misc/check_dataset', args) == 0
    out = capsys.readouterr().out
    (warning, ) = [
        line for line in out.splitlines() if 'will not train on' in line
    ]
    assert ' - WARNING - ' in warning
    assert ('MMDetection will not train on 1 of 120 annotations: 1 box '
            'under one pixel or negative (annotation 6 in image '
            f'{data_image(root)} ') in warning


def data_image(root):
    with open(osp.join(root, TRAIN_ANN)) as f:
        return json.load(f)['annotations'][0]['image_id']


def test_masks_without_pixels_are_named_for_mask_configs(
        tiny_coco, tool_main, capsys):
    root = str(tiny_coco)
    data = edit_annotations(
        root, lambda d: d['annotations'][0].update(segmentation=[[1, 2, 3]]))
    ann = data['annotations'][0]
    args = ['--data-root', root, '--split', 'train', '--allow-dropped']
    assert tool_main('misc/check_dataset', [RETINANET, *args]) == 0
    assert 'mask with no pixels' not in capsys.readouterr().out  # no masks
    assert tool_main('misc/check_dataset', [MASKRCNN, *args]) == 0
    assert (f'annotation {ann["id"]} of image {ann["image_id"]} '
            f'{ann["image_id"]:012d}.jpg: mask with no pixels'
            ) in capsys.readouterr().out
