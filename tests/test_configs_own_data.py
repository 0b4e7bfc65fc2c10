"""docs/own_data.md's few-line configs, as written there, on a dataset that
labels2coco.py converts from label pictures drawn here: the scale rule
reaches both pipelines, and the first training sample is a crop of the
scaled picture with its objects scaled."""
import importlib.util
import os
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def snippets():
    """The Python blocks of docs/own_data.md that set ``object_size``."""
    with open(osp.join(REPO, 'docs', 'own_data.md')) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    return [b for b in blocks if 'object_size' in b]


@pytest.fixture(scope='module')
def mydata(tmp_path_factory):
    """data/mydata of two 200x240 pictures with 20-px squares, 0-based."""
    spec = importlib.util.spec_from_file_location(
        '_l2c', osp.join(REPO, 'tools', 'dataset_converters',
                         'labels2coco.py'))
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    root = tmp_path_factory.mktemp('work')
    for split in ('train', 'val'):
        labels = np.zeros((200, 240), np.uint8)
        for i in range(6):
            labels[30 * i + 5:30 * i + 25, 10 + 35 * i:30 + 35 * i] = i + 1
        picture = (labels > 0).astype(np.uint16) * 1000 + 100
        converter.convert([('p', picture, labels)],
                          str(root / 'data' / 'mydata'), split, 'cell')
    # configs/mine/ beside the project's configs, as own_data.md has it
    (root / 'configs' / 'mine').mkdir(parents=True)
    for name in os.listdir(osp.join(REPO, 'configs')):
        os.symlink(osp.join(REPO, 'configs', name), root / 'configs' / name)
    return root


@pytest.mark.parametrize('index', range(2))
def test_snippet_builds_and_scales(mydata, index):
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    code = snippets()[index].replace("('cell', 'debris')", "('cell', )")
    code = code.replace('num_classes=2', 'num_classes=1')
    path = mydata / 'configs' / 'mine' / f'snippet{index}.py'
    # the object size moves the scale of both pipelines: 40 px / object_size
    for object_size, scale in ((40, 1.0), (20, 2.0)):
        path.write_text(
            code.replace('object_size = 40', f'object_size = {object_size}'))
        cfg = Config.fromfile(str(path))
        for loader in ('train_dataloader', 'test_dataloader'):
            (resize, ) = [
                s for s in cfg[loader].dataset.pipeline if s.type == 'Resize'
            ]
            assert resize.scale_factor == pytest.approx(scale)
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.default_scope)
    cwd = os.getcwd()
    os.chdir(mydata)  # data_root is relative, as for a user
    try:
        if cfg.default_scope == 'mmdet':
            import mmdet.datasets  # noqa: F401
            from mmdet.registry import DATASETS
        else:
            import mmseg.datasets  # noqa: F401
            from mmseg.registry import DATASETS
        train = DATASETS.build(cfg.train_dataloader.dataset)
        test = DATASETS.build(cfg.test_dataloader.dataset)
        sample = train[0]
        assert tuple(sample['inputs'].shape[1:]) == (320, 320)
        if cfg.default_scope == 'mmdet':
            boxes = sample['data_samples'].gt_instances.bboxes.tensor
            sides = (boxes[:, 2:] - boxes[:, :2]).max(1).values
            # 20-px squares at scale 2, some cut by the crop
            assert len(boxes) > 0 and sides.max() == 40
            assert test.metainfo['classes'] == ('cell', )
        else:
            assert set(
                sample['data_samples'].gt_sem_seg.data.unique().tolist()) <= {
                    0, 1
                }
            assert len(test) == 1
    finally:
        os.chdir(cwd)
