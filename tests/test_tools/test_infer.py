"""tools/infer.py on images, a folder and a video, for a detector, an instance
segmenter and a segmentor: the pictures and the JSON files / label maps exist
and hold what the inferencers, called in this process, predict; checkpoints
that do not fit are refused."""
import json
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmconvmlp.models.utils.checkpoint import original_key
from mmconvmlp.testing.batches import build_model
from mmconvmlp.utils.inference import build_inferencer, draw, predict

CLASSES = ('ball', 'box', 'tent')
PALETTE = [(220, 20, 60), (250, 170, 30), (0, 60, 230)]
# RetinaNet: keep every box, so that the random weights predict some.
DET_ANY = {'model.test_cfg.score_thr': 0.0}


def cli(options):
    """``--cfg-options`` arguments of a dict."""
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


def demo_config(repo_root, name):
    return osp.join(repo_root, 'configs', 'demo', name + '.py')


def make_checkpoint(config, path, classes=CLASSES, palette=PALETTE):
    """A checkpoint of randomly initialised weights, as the runner saves it."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    state = build_model(cfg).state_dict()
    meta = dict(dataset_meta=dict(classes=classes, palette=palette))
    torch.save(dict(state_dict=state, meta=meta), path)
    return str(path)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A folder with two images and a three-frame video (120x160)."""
    root = tmp_path_factory.mktemp('inputs')
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(5):
        img = rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)
        x, y = rng.integers(0, 80, 2)
        img[y:y + 40, x:x + 60] = rng.integers(120, 255, 3)
        frames.append(img)
    folder = root / 'photos'
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f'img{i}.png'), frames[i])
    video = str(root / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (160, 120))
    for frame in frames[2:]:
        writer.write(frame)
    writer.release()
    return dict(
        folder=str(folder),
        video=video,
        images=[str(folder / f'img{i}.png') for i in range(2)])


@pytest.fixture(scope='module')
def retinanet(repo_root, tmp_path_factory):
    config = demo_config(repo_root, 'retinanet_convmlp_s_demo')
    path = tmp_path_factory.mktemp('ckpt') / 'retinanet.pth'
    return config, make_checkpoint(config, path)


def reference_inferencer(config, checkpoint, options=None):
    """The code base's inferencer, built here."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    return build_inferencer(cfg, checkpoint, 'cpu')


def assert_same_detections(record, expected):
    assert record['labels'] == expected['labels']
    assert record['label_names'] == [CLASSES[i] for i in expected['labels']]
    np.testing.assert_allclose(
        record['scores'], expected['scores'], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        record['bboxes'], expected['bboxes'], rtol=1e-4, atol=1e-2)
    if 'masks' in expected:
        assert record['masks'] == expected['masks']


def test_detector_folder_and_video(tool_main, capsys, retinanet, inputs,
                                   tmp_path):
    config, checkpoint = retinanet
    out = tmp_path / 'out'
    assert tool_main('infer', [
        config, checkpoint, inputs['folder'], inputs['video'], '--out-dir',
        str(out), '--score-thr', '0.0', '--batch-size', '2', *cli(DET_ANY)
    ]) == 0
    printed = capsys.readouterr().out
    assert '2/2' in printed and '3/3' in printed  # the progress bars
    assert '2 images and 3 video frames predicted' in printed

    # What the inferencer predicts, called here on the same inputs.
    inferencer = reference_inferencer(config, checkpoint, DET_ANY)
    for path in inputs['images']:
        name = osp.splitext(osp.basename(path))[0]
        record = json.loads((out / 'preds' / f'{name}.json').read_text())
        expected = inferencer(path)['predictions'][0]
        assert len(expected['labels']) > 0
        assert record['source'] == path
        assert_same_detections(record, expected)
        drawn = mmcv.imread(str(out / 'vis' / osp.basename(path)))
        plain = mmcv.imread(path)
        assert drawn.shape == plain.shape
        assert np.abs(drawn.astype(int) - plain).mean() > 1  # boxes drawn

    frames = list(mmcv.VideoReader(inputs['video']))
    for index, frame in enumerate(frames):
        record = json.loads(
            (out / 'preds' / 'clip' / f'{index:06d}.json').read_text())
        assert record['frame'] == index
        assert_same_detections(record, inferencer(frame)['predictions'][0])
    video = mmcv.VideoReader(str(out / 'vis' / 'clip.mp4'))
    assert (video.frame_cnt, video.width, video.height) == (3, 160, 120)


def test_drawing_follows_the_score_threshold(retinanet, inputs):
    config, checkpoint = retinanet
    inferencer = reference_inferencer(config, checkpoint, DET_ANY)
    path = inputs['images'][0]
    (sample, ) = predict(inferencer, [path])
    img = mmcv.imread(path, channel_order='rgb')
    assert np.array_equal(draw(inferencer, img, sample, score_thr=2.0), img)
    assert not np.array_equal(
        draw(inferencer, img, sample, score_thr=0.0), img)


@pytest.mark.slow
def test_instance_masks_are_rle(tool_main, repo_root, inputs, tmp_path):
    config = demo_config(repo_root, 'maskrcnn_convmlp_s_demo')
    checkpoint = make_checkpoint(config, tmp_path / 'maskrcnn.pth')
    options = {'model.test_cfg.rcnn.score_thr': 0.0}
    path = inputs['images'][0]
    assert tool_main('infer', [
        config, checkpoint, path, '--out-dir',
        str(tmp_path / 'out'), *cli(options)
    ]) == 0
    record = json.loads((tmp_path / 'out' / 'preds' / 'img0.json').read_text())
    expected = reference_inferencer(config, checkpoint, options)(path)
    expected = expected['predictions'][0]
    assert record['masks'] and record['masks'][0]['size'] == [120, 160]
    assert_same_detections(record, expected)


def test_segmentor_writes_label_maps(tool_main, capsys, repo_root, inputs,
                                     tmp_path):
    config = demo_config(repo_root, 'fpn_convmlp_s_demo')
    classes = ('wall', ) + CLASSES
    checkpoint = make_checkpoint(config, tmp_path / 'fpn.pth', classes,
                                 [(120, 120, 120)] + PALETTE)
    out = tmp_path / 'out'
    assert tool_main('infer', [
        config, checkpoint, inputs['images'][1], inputs['video'], '--out-dir',
        str(out)
    ]) == 0
    assert '1 image and 3 video frames' in capsys.readouterr().out
    assert json.loads(
        (out / 'preds' / 'classes.json').read_text()) == list(classes)

    inferencer = reference_inferencer(config, checkpoint)
    label_map = mmcv.imread(str(out / 'preds' / 'img1.png'), 'unchanged')
    expected = inferencer(inputs['images'][1])['predictions']
    assert label_map.dtype == np.uint8
    np.testing.assert_array_equal(label_map, expected)
    frame = next(iter(mmcv.VideoReader(inputs['video'])))
    np.testing.assert_array_equal(
        mmcv.imread(str(out / 'preds' / 'clip' / '000000.png'), 'unchanged'),
        inferencer(frame)['predictions'])
    assert (out / 'vis' / 'img1.png').is_file()
    assert mmcv.VideoReader(str(out / 'vis' / 'clip.mp4')).frame_cnt == 3


def test_refuses_a_checkpoint_that_does_not_fit(tool_main, capsys, repo_root,
                                                retinanet, inputs, tmp_path):
    config, checkpoint = retinanet
    state = torch.load(checkpoint)
    del state['state_dict']['bbox_head.retina_cls.weight']
    state['state_dict']['backbone.extra.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'partial.pth')
    assert tool_main('infer', [
        config,
        str(tmp_path / 'partial.pth'), inputs['images'][0], '--out-dir',
        str(tmp_path / 'out')
    ]) == 1
    err = capsys.readouterr().err
    assert 'partial.pth does not fit the model; nothing was loaded' in err
    assert '  bbox_head: 1 missing key: bbox_head.retina_cls.weight' in err
    assert '  backbone: 1 unexpected key: backbone.extra.weight' in err
    assert not (tmp_path / 'out').exists()

    seg = make_checkpoint(
        demo_config(repo_root, 'fpn_convmlp_s_demo'), tmp_path / 'seg.pth')
    assert tool_main('infer', [config, seg, inputs['images'][0]]) == 1
    assert 'neck.lateral_convs.0.conv.weight (file (256, 64, 1, 1), model ' \
        '(256, 128, 1, 1))' in capsys.readouterr().err


def test_takes_the_authors_layout(tool_main, retinanet, inputs, tmp_path):
    """A file with the backbone keys in the authors' names (their released
    models) fits: ConvMLP converts them while loading."""
    config, checkpoint = retinanet
    state = torch.load(checkpoint)
    prefix = 'backbone.'

    def authors(key):
        if not key.startswith(prefix):
            return key
        return prefix + original_key(key[len(prefix):])

    state['state_dict'] = {
        authors(k): v
        for k, v in state['state_dict'].items()
    }
    assert 'backbone.tokenizer.block.0.weight' in state['state_dict']
    torch.save(state, tmp_path / 'authors.pth')
    path = inputs['images'][0]
    assert tool_main('infer', [
        config,
        str(tmp_path / 'authors.pth'), path, '--out-dir',
        str(tmp_path / 'out'), *cli(DET_ANY)
    ]) == 0
    record = json.loads((tmp_path / 'out' / 'preds' / 'img0.json').read_text())
    expected = reference_inferencer(config, checkpoint, DET_ANY)(path)
    assert_same_detections(record, expected['predictions'][0])


def test_classes_of_the_config_for_a_file_without_names(
        tool_main, capsys, retinanet, inputs, tmp_path):
    """Without class names in the file the inferencer would use COCO's;
    the tool names the classes as the config does."""
    config, checkpoint = retinanet
    state = torch.load(checkpoint)
    del state['meta']
    torch.save(state, tmp_path / 'nameless.pth')
    assert tool_main('infer', [
        config,
        str(tmp_path / 'nameless.pth'), inputs['images'][0], '--out-dir',
        str(tmp_path / 'out'), *cli(DET_ANY)
    ]) == 0
    assert "names no classes; using the config's 3: ball, box, tent" in \
        capsys.readouterr().err
    record = json.loads((tmp_path / 'out' / 'preds' / 'img0.json').read_text())
    assert record['label_names'] and set(record['label_names']) <= set(CLASSES)


def test_input_errors(tool_main, capsys, retinanet, tmp_path):
    config, checkpoint = retinanet
    assert tool_main(
        'infer',
        [config, checkpoint, str(tmp_path / 'no.jpg')]) == 1
    assert 'input not found' in capsys.readouterr().err
    (tmp_path / 'notes.txt').write_text('x')
    assert tool_main('infer', [config, checkpoint, str(tmp_path)]) == 1
    assert 'no images or videos in folder' in capsys.readouterr().err
