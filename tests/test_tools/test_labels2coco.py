"""tools/dataset_converters/labels2coco.py on label pictures drawn here:
integer and colour labels, tiles, and a user's files left alone. The oracle
is the drawing (numpy) and pycocotools' reading of the written files."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'labels2coco.py')
# (row, column, radius) of three discs; the third crosses the middle column.
DISCS = [(20, 20, 8), (40, 12, 5), (30, 32, 6)]


@pytest.fixture(scope='module')
def converter():
    spec = importlib.util.spec_from_file_location('_labels2coco', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def draw(height=60, width=64):
    """A 16-bit picture and its (H, W) label map, ids 3, 7, 9."""
    rows, cols = np.mgrid[:height, :width]
    labels = np.zeros((height, width), np.uint16)
    for label, (r, c, radius) in zip((3, 7, 9), DISCS):
        labels[(rows - r)**2 + (cols - c)**2 <= radius**2] = label
    picture = (labels > 0) * 3000 + 500 + (rows * 7 + cols) % 50
    return picture.astype(np.uint16), labels


def as_colours(labels):
    """RGBA colours per object, alpha 0 background (mnfinder's layout)."""
    rgba = np.zeros(labels.shape + (4, ), np.uint8)
    for label, colour in ((3, (255, 0, 0)), (7, (0, 0, 0)), (9, (1, 2, 3))):
        rgba[labels == label] = colour + (255, )
    return rgba


def read(out, split):
    from pycocotools.coco import COCO
    return COCO(osp.join(out, 'annotations', f'instances_{split}.json'))


@pytest.mark.parametrize('colour', [False, True])
def test_objects_boxes_and_masks(converter, tmp_path, colour):
    from pycocotools.mask import decode
    picture, labels = draw()
    src = tmp_path / 'src'
    (src / 'masks').mkdir(parents=True)
    Image.fromarray(picture).save(src / 'a.tif')
    Image.fromarray(as_colours(labels) if colour else labels).save(
        src / 'masks' / 'a.png')
    out = str(tmp_path / 'out')
    assert converter.main([
        '--out', out, '--split', 'train', '--images',
        str(src / '*.tif'), '--labels', '{dir}/masks/{stem}.png',
        '--class-name', 'cell'
    ]) == 0
    coco = read(out, 'train')
    assert [c['name'] for c in coco.cats.values()] == ['cell']
    (image, ) = coco.imgs.values()
    assert (image['height'], image['width']) == labels.shape
    expected = sorted(labels[labels > 0].tolist())
    assert len(coco.anns) == 3
    found = []
    for ann in coco.anns.values():
        mask = decode(ann['segmentation']).astype(bool)
        (label, ) = np.unique(labels[mask])  # one object per mask, whole
        assert np.array_equal(mask, labels == label)
        ys, xs = np.nonzero(mask)
        assert ann['bbox'] == [
            xs.min(), ys.min(),
            np.ptp(xs) + 1, np.ptp(ys) + 1
        ]
        found += [label] * int(ann['area'])
    assert sorted(found) == expected
    label_map = np.asarray(Image.open(osp.join(out, 'labels/train/a.png')))
    assert np.array_equal(label_map, (labels > 0).astype(np.uint8))
    rgb = np.asarray(Image.open(osp.join(out, 'images/train/a.png')))
    assert rgb.shape == labels.shape + (3, ) and rgb.dtype == np.uint8
    # the percentile stretch: objects bright, background dark
    assert rgb[labels > 0].min() > rgb[labels == 0].max()


def test_tiles_drop_small_cut_parts(converter, tmp_path):
    picture, labels = draw()
    out = str(tmp_path / 'out')
    count = converter.convert([('p', picture, labels)],
                              out,
                              'val',
                              grid=(1, 2),
                              min_area=40)
    coco = read(out, 'val')
    names = sorted(i['file_name'] for i in coco.imgs.values())
    assert names == ['p_r0c0.png', 'p_r0c1.png']
    # disc 9 (r=6) is cut at column 32: its left part (113 px - its right
    # part) stays, its right part (< 40 px) becomes background
    left, right = labels[:, :32], labels[:, 32:]
    expected = {
        name:
        sorted(
            k for k in np.unique(tile[tile > 0]) if (tile == k).sum() >= 40)
        for name, tile in (('p_r0c0.png', left), ('p_r0c1.png', right))
    }
    for img in coco.imgs.values():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        assert sorted(a['source_label']
                      for a in anns) == expected[img['file_name']]
    assert count == sum(len(v) for v in expected.values())


def test_user_files_survive(converter, tmp_path):
    from mmconvmlp.utils import OutputError
    picture, labels = draw()
    out = tmp_path / 'out'
    (out / 'images' / 'train').mkdir(parents=True)
    mine = out / 'images' / 'train' / 'p.png'
    mine.write_bytes(b'a file of the user')
    for overwrite in (False, True):
        with pytest.raises(OutputError, match='images/train/p.png'):
            converter.convert([('p', picture, labels)],
                              str(out),
                              'train',
                              overwrite=overwrite)
    assert mine.read_bytes() == b'a file of the user'
    assert not (out / 'annotations').exists()


def test_own_files_replaced_with_overwrite_only(converter, tmp_path):
    from mmconvmlp.utils import OutputError
    picture, labels = draw()
    out = str(tmp_path / 'out')
    converter.convert([('q', picture, labels)], out, 'train')
    converter.convert([('q', picture, labels)], out, 'val')  # adds a split
    with pytest.raises(OutputError, match='--overwrite'):
        converter.convert([('q', picture, labels)], out, 'train')
    converter.convert([('q', picture[:, :32], labels[:, :32])],
                      out,
                      'train',
                      overwrite=True)
    for split, width in (('train', 32), ('val', 64)):
        with open(osp.join(out, 'annotations',
                           f'instances_{split}.json')) as f:
            assert json.load(f)['images'][0]['width'] == width


def test_a_broken_picture_is_named(converter, tmp_path, capsys):
    picture, labels = draw()
    Image.fromarray(picture).save(tmp_path / 'a.tif')
    (tmp_path / 'a.png').write_bytes(b'not a picture')
    out = tmp_path / 'out'
    assert converter.main([
        '--out',
        str(out), '--split', 'train', '--images',
        str(tmp_path / '*.tif'), '--labels', '{dir}/{stem}.png'
    ]) == 1
    assert f'cannot read {tmp_path / "a.png"}' in capsys.readouterr().err
    assert not out.exists()
