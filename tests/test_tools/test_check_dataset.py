"""tools/misc/check_dataset.py: decodes every image and label map, shows a
progress bar and a summary, exits 1 when the data is unusable."""
import os.path as osp

import numpy as np
from PIL import Image

from mmconvmlp.testing.corrupt import edit_json, truncate
from mmconvmlp.testing.data import generate_tiny_ade20k

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
FPN = osp.join(REPO, 'configs', 'fpn_convmlp_s_ade20k.py')


def test_clean_dataset(tiny_coco, capsys, tool_main):
    assert tool_main(
        'misc/check_dataset',
        [RETINANET, '--data-root', str(tiny_coco)]) == 0
    out = capsys.readouterr().out
    assert '4/4' in out and '2/2' in out  # the progress bars
    assert 'train_dataloader.dataset (' in out and '4 images): ok' in out
    assert 'val_dataloader.dataset (' in out and '2 images): ok' in out


def test_truncated_jpeg_and_clipped_box(tiny_coco, capsys, tool_main):
    """A truncated JPEG, which the pre-flight check does not decode, is found
    by decoding: unusable, as 1 of 4 is more than the default share."""
    bad = tiny_coco / 'train2017' / '000000000003.jpg'
    truncate(bad)
    edit_json(
        tiny_coco / 'annotations' / 'instances_train2017.json', lambda data:
        data['annotations'][0].update(bbox=[-100, -100, 400, 400]))
    assert tool_main(
        'misc/check_dataset',
        [RETINANET, '--data-root',
         str(tiny_coco), '--split', 'train']) == 1
    out, err = capsys.readouterr()
    assert f'images that cannot be decoded: 1; first: {bad}: ' in out
    assert '[unusable]' in out
    assert (
        'boxes clipped to the image: 1; first: 000000000001.jpg '
        '(annotation 1): [-100, -100, 400, 400] -> [0, 0, 128, 128]') in out
    assert 'val_dataloader' not in out
    assert err.startswith('error: 1 problems make the data unusable')

    # Within the share that training skips: a warning, exit 0.
    assert tool_main('misc/check_dataset', [
        RETINANET, '--data-root',
        str(tiny_coco), '--split', 'train', '--cfg-options',
        'data_checks.max_bad_fraction=0.25'
    ]) == 0
    out = capsys.readouterr().out
    assert f'images that cannot be decoded: 1; first: {bad}: ' in out
    assert '[unusable]' not in out


def test_segmentation_all_label_maps_and_images(tmp_path, capsys, tool_main):
    root = generate_tiny_ade20k(str(tmp_path / 'ade'))
    labels = osp.join(root, 'annotations', 'validation')
    path = osp.join(labels, 'ADE_val_00000001.png')
    label_map = np.array(Image.open(path))
    label_map[0, 0] = 151  # class 150 after reduce_zero_label
    Image.fromarray(label_map).save(path)
    image = osp.join(root, 'images', 'validation', 'ADE_val_00000002.jpg')
    truncate(image)
    assert tool_main('misc/check_dataset',
                     [FPN, '--data-root', root, '--split', 'val']) == 1
    out = capsys.readouterr().out
    assert '4/4' in out  # 2 label maps and 2 images decoded
    assert (f'{path}: value 151 (class 150 after reduce_zero_label)' in out)
    # A validation set cannot skip images.
    assert f'images that cannot be decoded: 1; first: {image}: ' in out
    assert out.count('[unusable]') == 2
