"""tools/infer.py on a folder, an image and a video, for a detector and a
segmentor: what the stock inferencers write, for checkpoints that fit;
others refused by name."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from batches import build_model
from mmengine.config import Config

CLASSES = ('ball', 'box', 'tent')


def demo_config(repo_root, name):
    return osp.join(repo_root, 'configs', 'demo', name + '.py')


def make_checkpoint(config, path, classes=CLASSES):
    """Randomly initialised weights, saved as the runner saves them."""
    cfg = Config.fromfile(config)
    state = build_model(cfg).state_dict()
    meta = dict(dataset_meta=dict(classes=classes)) if classes else {}
    torch.save(dict(state_dict=state, meta=meta), path)
    return str(path)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A folder with two images and a three-frame video (120x160)."""
    root = tmp_path_factory.mktemp('inputs')
    rng = np.random.default_rng(0)
    frames = [
        rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(5)
    ]
    (root / 'photos').mkdir()
    for i in range(2):
        cv2.imwrite(str(root / 'photos' / f'img{i}.png'), frames[i])
    video = str(root / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (160, 120))
    for frame in frames[2:]:
        writer.write(frame)
    writer.release()
    return dict(folder=str(root / 'photos'), video=video)


def test_detector_folder_and_video(tool_main, repo_root, inputs, tmp_path):
    import mmcv
    config = demo_config(repo_root, 'retinanet_convmlp_s_demo')
    checkpoint = make_checkpoint(config, tmp_path / 'det.pth')
    out = tmp_path / 'out'
    assert tool_main('infer', [
        config, checkpoint, inputs['folder'], inputs['video'], '--out-dir',
        str(out), '--cfg-options', 'model.test_cfg.score_thr=0'
    ]) == 0
    for i in range(2):
        pred = json.loads((out / 'preds' / f'img{i}.json').read_text())
        assert len(pred['labels']) == len(pred['bboxes']) > 0
        assert set(pred['labels']) <= {0, 1, 2}
        assert (out / 'vis' / f'img{i}.png').is_file()
    assert mmcv.VideoReader(str(out / 'vis' / 'clip.avi')).frame_cnt == 3


def test_segmentor_and_a_file_without_class_names(tool_main, repo_root, inputs,
                                                  tmp_path, capsys):
    import mmcv
    config = demo_config(repo_root, 'fpn_convmlp_s_demo')
    checkpoint = make_checkpoint(config, tmp_path / 'seg.pth', classes=None)
    image = osp.join(inputs['folder'], 'img1.png')
    out = tmp_path / 'out'
    assert tool_main('infer',
                     [config, checkpoint, image, '--out-dir',
                      str(out)]) == 0
    assert "names no classes; using the config's 4" in \
        capsys.readouterr().err
    (path, ) = (out / 'pred').glob('*.png')
    label_map = mmcv.imread(str(path), 'unchanged')
    assert label_map.shape == (120, 160) and label_map.max() < 4


def test_refuses_a_checkpoint_that_does_not_fit(tool_main, capsys, repo_root,
                                                inputs, tmp_path):
    config = demo_config(repo_root, 'retinanet_convmlp_s_demo')
    checkpoint = make_checkpoint(config, tmp_path / 'partial.pth')
    state = torch.load(checkpoint)
    del state['state_dict']['bbox_head.retina_cls.weight']
    torch.save(state, checkpoint)
    out = tmp_path / 'out'
    assert tool_main(
        'infer', [config, checkpoint, inputs['folder'], '--out-dir',
                  str(out)]) == 1
    err = capsys.readouterr().err
    assert 'partial.pth does not fit the model; nothing was loaded' in err
    assert 'bbox_head: 1 missing key(s): bbox_head.retina_cls.weight' in err
    assert not out.exists()
