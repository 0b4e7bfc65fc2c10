"""SafeLoadImageFromFile: an image that cannot be decoded is skipped with a
WARNING naming it, and the dataset fetches another sample; more failures
than the set share stop the run; test sets cannot skip and name the file."""
import logging
import os.path as osp

import pytest
from mmengine.logging import MMLogger

from mmconvmlp.datasets import BadDataError, SafeLoadImageFromFile
from mmconvmlp.testing.corrupt import truncate


@pytest.fixture
def coco(tiny_coco):
    """Tiny COCO dataset whose 3rd and 4th training images are truncated."""
    for name in ('000000000003.jpg', '000000000004.jpg'):
        truncate(str(tiny_coco / 'train2017' / name))
    return str(tiny_coco)


@pytest.fixture
def warnings_logged():
    """The WARNING messages logged through MMEngine's current logger."""
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def image(coco, index):
    return dict(img_path=osp.join(coco, 'train2017', f'{index:012d}.jpg'))


def test_skips_with_warning_naming_file(coco, warnings_logged):
    loader = SafeLoadImageFromFile(num_samples=4, max_bad_fraction=0.5)
    assert loader(image(coco, 1))['img'].shape == (128, 128, 3)
    bad = image(coco, 3)
    assert loader(dict(bad)) is None
    assert loader(dict(bad)) is None  # the same file again: one warning
    assert len(warnings_logged) == 1
    assert warnings_logged[0].startswith(f'skipped image {bad["img_path"]}:')
    assert 'truncated' in warnings_logged[0]


def test_share_limit_stops(coco):
    loader = SafeLoadImageFromFile(num_samples=4, max_bad_fraction=0.25)
    assert loader(image(coco, 3)) is None  # 1 of 4: within the share
    with pytest.raises(BadDataError) as error:
        loader(image(coco, 4))  # 2 of 4: more than 0.25
    message = str(error.value)
    assert message.startswith('2 of 4 images could not be loaded, more '
                              'than max_bad_fraction=0.25 allows')
    assert image(coco, 3)['img_path'] in message
    assert 'data_checks.max_bad_fraction' in message


def test_share_of_images_seen_without_num_samples(coco):
    loader = SafeLoadImageFromFile(max_bad_fraction=0.5)
    assert loader(image(coco, 3)) is None  # 1 seen: too few to judge
    loader(image(coco, 1))
    with pytest.raises(BadDataError, match='2 of 3 images'):
        loader(image(coco, 4))


def test_test_mode_raises_naming_file(coco):
    loader = SafeLoadImageFromFile(skip_bad=False)
    with pytest.raises(OSError, match='cannot load image .*000000000003.jpg'):
        loader(image(coco, 3))


def test_dataset_fetches_another_sample(coco):
    """MMEngine's BaseDataset refetches when the pipeline returns None."""
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(
        data_root=coco,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[
            dict(
                type='mmconvmlp.SafeLoadImageFromFile',
                max_bad_fraction=0.5,
                num_samples=4)
        ])
    paths = [dataset.get_data_info(i)['img_path'] for i in range(4)]
    bad = paths.index(image(coco, 3)['img_path'])
    sample = dataset[bad]
    assert sample['img_path'] in (image(coco,
                                        1)['img_path'], image(coco,
                                                              2)['img_path'])


def test_record_file_counts_across_processes(coco, tmp_path):
    """Data loader workers hold copies of the transform: with a record file
    the share is that of the images all of them skipped."""
    record = str(tmp_path / 'skipped_images.txt')
    workers = [
        SafeLoadImageFromFile(
            num_samples=4, max_bad_fraction=0.25, record_file=record)
        for _ in range(2)
    ]
    assert workers[0](image(coco, 3)) is None  # 1 of 4
    with pytest.raises(BadDataError, match='2 of 4 images'):
        workers[1](image(coco, 4))  # its first failure, the run's second
    with open(record) as f:
        lines = f.read().splitlines()
    assert [line.split('\t')[0] for line in lines
            ] == [image(coco, 3)['img_path'],
                  image(coco, 4)['img_path']]
