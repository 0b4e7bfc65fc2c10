"""The pre-flight data checks of tools/train.py and tools/test.py: each kind
of bad data is found before the first iteration (one message naming the
file), or fixed and reported."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmconvmlp.datasets import check_data, scan_coco
from mmconvmlp.datasets.checks import (CLIPPED, DROPPED, EMPTY, MISSING,
                                       check_box)
from mmconvmlp.testing.corrupt import edit_json
from mmconvmlp.testing.data import generate_tiny_ade20k
from mmconvmlp.utils import ToolError, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
FPN = osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py')
TRAIN_JSON = 'annotations/instances_train2017.json'


@pytest.fixture(scope='module')
def pristine_ade(tmp_path_factory):
    return generate_tiny_ade20k(str(tmp_path_factory.mktemp('data') / 'ade'))


def edit_annotations(root, edit, name=TRAIN_JSON):
    edit_json(osp.join(root, name), edit)


def set_box(root, ann_index, bbox):

    def edit(data):
        data['annotations'][ann_index]['bbox'] = bbox

    edit_annotations(root, edit)


def train_fails(tool_main, capsys, config, root):
    """Run tools/train.py in this process; returns stderr, asserting exit 1
    before any model was built or iteration run."""
    assert tool_main('train', [config, '--data-root', str(root)]) == 1
    out, err = capsys.readouterr()
    assert 'Iter(train)' not in out and 'Epoch(train)' not in out
    assert 'Traceback' not in err
    return err


# ------------------------------------------------- unusable: one message
def test_zero_byte_jpeg(tiny_coco, capsys, tool_main):
    image = tiny_coco / 'train2017' / '000000000002.jpg'
    image.write_bytes(b'')
    err = train_fails(tool_main, capsys, RETINANET, tiny_coco)
    assert err.startswith('error: the data of ')
    assert f'{EMPTY}: 1; first: {image}' in err
    assert 'tools/misc/check_dataset.py' in err


def test_annotation_names_missing_image(tiny_coco, capsys, tool_main):
    image = tiny_coco / 'train2017' / '000000000003.jpg'
    image.unlink()
    err = train_fails(tool_main, capsys, RETINANET, tiny_coco)
    assert f'{MISSING}: 1; first: {image}' in err


def test_annotation_file_not_json(tiny_coco, capsys, tool_main):
    path = tiny_coco / TRAIN_JSON
    text = path.read_text()
    path.write_text(text[:-40])  # cut short, as by an interrupted copy
    err = train_fails(tool_main, capsys, RETINANET, tiny_coco)
    lines = text[:-40].splitlines()
    assert f'{path}: ' in err
    assert f'line {len(lines)} column {len(lines[-1]) + 1}' in err


def test_unknown_category_id(tiny_coco, capsys, tool_main):

    def edit(data):
        data['annotations'][1]['category_id'] = 999

    edit_annotations(tiny_coco, edit)
    err = train_fails(tool_main, capsys, RETINANET, tiny_coco)
    assert str(tiny_coco / TRAIN_JSON) in err
    assert 'annotation 2 (000000000002.jpg) has category_id 999' in err


def test_label_map_value_out_of_range(pristine_ade, tmp_path, capsys,
                                      tool_main):
    root = shutil.copytree(pristine_ade, tmp_path / 'ade')
    path = root / 'annotations' / 'training' / 'ADE_train_00000002.png'
    label_map = np.array(Image.open(path))
    label_map[5, 5] = 200
    Image.fromarray(label_map).save(path)
    err = train_fails(tool_main, capsys, FPN, root)
    assert f'{path}: value 200 (class 199 after reduce_zero_label)' in err
    assert 'valid: 0..149 and 255' in err


def test_test_set_checked_by_test_tool(tiny_coco, tmp_path, capsys, tool_main):
    image = tiny_coco / 'val2017' / '000000000001.jpg'
    image.unlink()
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')  # not read: the check comes first
    assert tool_main(
        'test',
        [RETINANET, str(checkpoint), '--data-root',
         str(tiny_coco)]) == 1
    err = capsys.readouterr().err
    assert 'before testing started' in err
    assert f'{MISSING}: 1; first: {image}' in err


# ------------------------------------------------- fixable: fixed, reported
@pytest.mark.parametrize('bbox,reason', [
    ([40, 40, -10, 20], 'width or height not positive'),
    ([300, 10, 20, 20], 'outside the image'),
    ([10, 10, float('nan'), 20], 'not finite'),
])
def test_degenerate_box_dropped(tiny_coco, tmp_path, bbox, reason):
    set_box(tiny_coco, 0, bbox)
    cfg = load_config(RETINANET, None, str(tmp_path / 'work'), str(tiny_coco))
    report = check_data(cfg, 'train')[0]
    assert report.count(DROPPED) == 1 and report.count(CLIPPED) == 0
    example = report.problems[DROPPED].examples[0]
    assert example.startswith('000000000001.jpg (annotation 1): ')
    assert example.endswith(reason)
    # Training reads a copy without it.
    with open(cfg.train_dataloader.dataset.ann_file) as f:
        ids = [ann['id'] for ann in json.load(f)['annotations']]
    assert 1 not in ids and len(ids) > 0


def test_box_partly_outside_is_clipped_in_what_training_reads(
        tiny_coco, tmp_path):
    from mmengine.registry import DATASETS, DefaultScope
    set_box(tiny_coco, 0, [-100, -100, 400, 400])  # the image is 128x128
    cfg = load_config(RETINANET, None, str(tmp_path / 'work'), str(tiny_coco))
    report = check_data(cfg, 'train')[0]
    assert report.count(CLIPPED) == 1 and report.count(DROPPED) == 0
    assert report.problems[CLIPPED].examples == [
        '000000000001.jpg (annotation 1): [-100, -100, 400, 400] -> '
        '[0, 0, 128, 128]'
    ]
    ann_file = cfg.train_dataloader.dataset.ann_file
    assert ann_file.startswith(str(tmp_path / 'work' / 'data_checks'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    info = next(
        dataset.get_data_info(i) for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == 1)
    assert info['instances'][0]['bbox'] == [0, 0, 128, 128]
    # The evaluator and validation set still read the original files.
    assert cfg.val_dataloader.dataset.ann_file == \
        'annotations/instances_val2017.json'


def test_clean_data_is_left_alone(tiny_coco, tmp_path):
    cfg = load_config(RETINANET, None, str(tmp_path / 'work'), str(tiny_coco))
    reports = check_data(cfg, 'train')
    assert [r.problems for r in reports] == [{}, {}]
    assert [r.num_samples for r in reports] == [4, 2]
    assert cfg.train_dataloader.dataset.ann_file == TRAIN_JSON
    assert not (tmp_path / 'work').exists()
    steps = [
        cfg[f'{k}_dataloader'].dataset.pipeline[0] for k in ('train', 'val')
    ]
    assert [s['type']
            for s in steps] == ['mmconvmlp.SafeLoadImageFromFile'] * 2
    assert [(s['skip_bad'], s['num_samples']) for s in steps] == [(True, 4),
                                                                  (False, 2)]
    assert steps[0]['record_file'] == str(tmp_path / 'work' / 'data_checks' /
                                          'train_dataloader.dataset' /
                                          'skipped_images.txt')
    assert steps[1]['record_file'] is None


def test_data_checks_settings(tiny_coco, tmp_path):
    cfg = load_config(RETINANET, {
        'data_checks.scan': False,
        'data_checks.safe_loading': False
    }, str(tmp_path), str(tiny_coco))
    assert check_data(cfg, 'train') == []
    assert cfg.train_dataloader.dataset.pipeline[0].type == \
        'LoadImageFromFile'
    cfg = load_config(RETINANET, {'data_checks.max_bad_fration': 0.1},
                      str(tmp_path), str(tiny_coco))
    with pytest.raises(ToolError, match='unknown data_checks keys'):
        check_data(cfg, 'train')


def test_check_box():
    assert check_box([1, 2, 3, 4], 10, 10) == ([1, 2, 3, 4], '')
    assert check_box([-2, 8, 5, 5], 10, 10) == ([0., 8., 3., 2.], '')
    assert check_box([9.5, 0, 5, 5], 10,
                     10) == (None, 'under 1 pixel wide or high in the image')
    assert check_box([0, 0, 0, 5], 10, 10)[0] is None


def test_scan_coco_decodes_with_decode(tiny_coco):
    path = tiny_coco / 'train2017' / '000000000004.jpg'
    path.write_bytes(path.read_bytes()[:200])
    ann_file = str(tiny_coco / TRAIN_JSON)
    assert not scan_coco(ann_file, str(tiny_coco / 'train2017')).problems
    report = scan_coco(
        ann_file, str(tiny_coco / 'train2017'), decode=True, fatal_share=0.5)
    problem = report.problems['images that cannot be decoded']
    assert problem.count == 1 and not problem.fatal  # 1 of 4 <= 0.5
    assert problem.examples[0].startswith(str(path))


def test_evaluator_annotation_file_checked(tiny_coco, tmp_path, capsys,
                                           tool_main):
    """CocoMetric reads its own file: checked where no dataset reads it."""
    ann_file = tmp_path / 'other_val.json'
    ann_file.write_text('{"images": [\n')
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    assert tool_main('test', [
        RETINANET,
        str(checkpoint), '--data-root',
        str(tiny_coco), '--cfg-options', f'test_evaluator.ann_file={ann_file}'
    ]) == 1
    err = capsys.readouterr().err
    assert f'test_evaluator.ann_file ({ann_file}):' in err
    assert f'{ann_file}: Expecting value at line 2 column 1' in err
    assert '--split test' in err
