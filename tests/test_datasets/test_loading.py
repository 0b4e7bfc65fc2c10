"""SafeLoadImageFromFile: unreadable images are skipped by name, and a
training dataset serves another sample in their place."""
import logging
import os.path as osp

import pytest
from mmengine.logging import MMLogger

from mmconvmlp.datasets import SafeLoadImageFromFile


@pytest.fixture
def records():
    found = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = found.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield found
    logger.removeHandler(handler)


def test_unreadable_images_are_skipped_by_name(tiny_coco, records):
    folder = osp.join(str(tiny_coco), 'train2017')
    good = osp.join(folder, '000000000001.jpg')
    garbage = osp.join(folder, '000000000002.jpg')
    with open(garbage, 'wb') as f:
        f.write(b'not an image at all')
    load = SafeLoadImageFromFile()
    assert load(dict(img_path=good))['img'].shape == (128, 128, 3)
    assert load(dict(img_path=garbage)) is None
    assert load(dict(img_path=osp.join(folder, 'missing.jpg'))) is None
    messages = [r.getMessage() for r in records]
    assert any(garbage in m for m in messages)
    with pytest.raises(OSError, match='000000000002.jpg'):
        SafeLoadImageFromFile(ignore_empty=False)(dict(img_path=garbage))


def test_training_dataset_serves_another_sample(tiny_coco):
    from mmdet.datasets import CocoDataset
    root = str(tiny_coco)
    with open(osp.join(root, 'train2017', '000000000001.jpg'), 'wb') as f:
        f.write(b'\xff\xd8 truncated')
    dataset = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[dict(type='mmconvmlp.SafeLoadImageFromFile')])
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    bad = next(i for i, p in enumerate(paths) if p.endswith('01.jpg'))
    sample = dataset[bad]
    assert sample['img_path'] != paths[bad] and sample['img'] is not None
