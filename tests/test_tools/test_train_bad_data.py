"""tools/train.py on data with images that cannot be decoded: skipped with a
WARNING naming them and the run finishes; more than the set share stops the
run with one message."""
import glob
import os.path as osp

import pytest

from mmconvmlp.testing.corrupt import truncate

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RETINANET = osp.join(REPO, 'configs', 'retinanet_convmlp_s_coco.py')
# A tiny run: 4 images of 128x128 scaled down, 2 per batch, 1 epoch, no
# validation, no loader workers.
TINY = [
    'model.backbone.init_cfg=None',
    'default_hooks.logger.interval=1',
    'train_cfg.max_epochs=1',
    'train_cfg.val_interval=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
]


@pytest.fixture
def coco(tiny_coco):
    """Tiny COCO dataset whose 3rd training image is truncated."""
    truncate(str(tiny_coco / 'train2017' / '000000000003.jpg'))
    return str(tiny_coco)


def test_undecodable_image_skipped_and_run_finishes(coco, tmp_path, tool_main):
    work_dir = tmp_path / 'work'
    code = tool_main('train', [
        RETINANET, '--work-dir',
        str(work_dir), '--data-root', coco, '--cfg-options', *TINY,
        'data_checks.max_bad_fraction=0.25'
    ])
    assert code == 0
    (log, ) = glob.glob(str(work_dir / '*' / '*.log'))
    with open(log) as f:
        text = f.read()
    bad = osp.join(coco, 'train2017', '000000000003.jpg')
    assert f'WARNING - skipped image {bad}: ' in text
    assert 'Epoch(train) [1][2/2]' in text
    assert osp.isfile(work_dir / 'epoch_1.pth')
    # The images skipped, for the user (and the count of all workers).
    record = (
        work_dir / 'data_checks' / 'train_dataloader.dataset' /
        'skipped_images.txt')
    assert record.read_text().startswith(f'{bad}\t')


def test_more_than_share_stops_run(coco, tmp_path, capsys, tool_main):
    code = tool_main('train', [
        RETINANET, '--work-dir',
        str(tmp_path), '--data-root', coco, '--cfg-options', *TINY
    ])  # max_bad_fraction 0.01: 1 of 4 is more
    assert code == 1
    err = capsys.readouterr().err
    assert ('error: 1 of 4 images could not be loaded, more than '
            'max_bad_fraction=0.01 allows') in err
    assert '000000000003.jpg' in err
    assert not glob.glob(str(tmp_path / '*.pth'))
