# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Inference on images, folders and videos with a trained checkpoint.

``tools/infer.py`` is built from these. One code path serves detection and
segmentation configs: the config's ``default_scope`` picks MMDetection's
``DetInferencer`` or MMSegmentation's ``MMSegInferencer``, which load the
checkpoint, run the config's test pipeline and the model, and bring the
visualizer. This module adds what a user needs around them:

- inputs: image files, folders (their images and videos, sorted) and videos
  (frames read with MMCV's ``VideoReader``);
- one progress bar per folder or video (rich, as the inferencers' own);
- outputs in one layout for both code bases (see :func:`run_inference`):
  pictures with the predictions drawn, and the predictions as JSON (boxes,
  scores, labels, masks as COCO RLE) or as PNG label maps;
- a refusal of checkpoints that do not fill the model
  (:func:`check_checkpoint_fits`), which MMEngine only warns about.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch.nn as nn
from mmengine.config import Config

from .checks import ToolError
from .config import codebase_of, dataset_meta_of

#: File name endings read as images (those of MMDetection's inferencer).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                    '.tiff', '.webp')
#: File name endings read as videos (through OpenCV).
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
                    '.mpeg')


@dataclass
class Source:
    """One input of the tool: an image, a video, or a folder's images.

    Attributes:
        path (str): The path the user gave (a folder for ``'folder'``).
        kind (str): ``'image'``, ``'video'`` or ``'folder'``.
        images (list[str]): The image files (one for ``'image'``, the
            folder's for ``'folder'``, none for ``'video'``).
    """
    path: str
    kind: str
    images: List[str] = field(default_factory=list)


def _is_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def _is_video(path: str) -> bool:
    return path.lower().endswith(VIDEO_EXTENSIONS)


def collect_inputs(paths: Sequence[str]) -> List[Source]:
    """Sort the inputs into images, videos and folders.

    A folder contributes its images (one :class:`Source`, one progress bar)
    and each of its videos, in name order; sub-folders are not searched.

    Args:
        paths (Sequence[str]): Image files, video files and folders.

    Returns:
        list[Source]: In the order given.

    Raises:
        ToolError: A path that does not exist, a file that is neither an
            image nor a video, a folder without either, or two inputs whose
            outputs would share a name.
    """
    sources: List[Source] = []
    for path in paths:
        if osp.isdir(path):
            names = sorted(os.listdir(path))
            images = [osp.join(path, n) for n in names if _is_image(n)]
            videos = [osp.join(path, n) for n in names if _is_video(n)]
            if not images and not videos:
                raise ToolError(f'no images or videos in folder {path} '
                                f'(images: {", ".join(IMAGE_EXTENSIONS)}; '
                                f'videos: {", ".join(VIDEO_EXTENSIONS)})')
            if images:
                sources.append(Source(path, 'folder', images))
            sources += [Source(v, 'video') for v in videos]
        elif osp.isfile(path):
            if _is_image(path):
                sources.append(Source(path, 'image', [path]))
            elif _is_video(path):
                sources.append(Source(path, 'video'))
            else:
                raise ToolError(f'not an image or a video: {path} (images: '
                                f'{", ".join(IMAGE_EXTENSIONS)}; videos: '
                                f'{", ".join(VIDEO_EXTENSIONS)})')
        else:
            raise ToolError(f'input not found: {path}')
    seen: Dict[str, str] = {}
    for name, path in ((_stem(p), p) for s in sources
                       for p in (s.images or [s.path])):
        if name in seen:
            raise ToolError(f'two inputs would write the same outputs '
                            f'"{name}": {seen[name]} and {path}; rename one '
                            'or run them separately')
        seen[name] = path
    return sources


def _stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


# ------------------------------------------------------- checkpoint check
def check_checkpoint_fits(model: nn.Module, checkpoint: str) -> dict:
    """Refuse a checkpoint that does not fill ``model`` exactly.

    MMEngine (and so both inferencers) loads whole models non-strictly and
    only prints what did not fit; the layers keep their random weights. This
    reads the file again (weights-only) and applies the project's strict
    check, :func:`mmconvmlp.models.utils.check_checkpoint` with policy
    ``'strict'``: every parameter and buffer filled (BatchNorm
    ``num_batches_tracked`` aside), no unexpected or wrongly shaped tensor,
    with ConvMLP's key conversion (the authors' layout) applied as loading
    applies it.

    Args:
        model (nn.Module): The model the inferencer built (and loaded).
        checkpoint (str): The checkpoint file (path or URL).

    Returns:
        dict: The file's ``meta`` (empty when it has none).

    Raises:
        CheckpointMismatchError: The file does not fit; a
            :class:`~mmconvmlp.utils.ToolError` whose message names each
            model part concerned and its first keys.
    """
    from mmengine.runner.checkpoint import _load_checkpoint

    from mmconvmlp.models.utils import check_checkpoint
    data = _load_checkpoint(checkpoint, map_location='cpu')
    check_checkpoint(model, data, 'strict', source=checkpoint)
    meta = data.get('meta') if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


def names_classes(meta: dict) -> bool:
    """Whether a checkpoint's ``meta`` names the classes (MMEngine's
    ``dataset_meta``, or mmdet 2.x / mmseg 0.x ``CLASSES``)."""
    dataset_meta = meta.get('dataset_meta')
    return bool(meta.get('CLASSES')) or (isinstance(dataset_meta, dict)
                                         and bool(dataset_meta.get('classes')))


def use_config_classes(inferencer, cfg: Config) -> dict:
    """Name the classes as the config's test dataset does.

    Both inferencers fall back to a default list (COCO, Cityscapes) for a
    checkpoint without class names; the config's own list is the right one.
    The dataset is built with ``lazy_init`` (no file is read;
    :func:`mmconvmlp.utils.dataset_meta_of`).

    Args:
        inferencer (DetInferencer | MMSegInferencer): From
            :func:`build_inferencer`.
        cfg (Config): Its config.

    Returns:
        dict: The ``classes`` and ``palette`` now used.
    """
    meta = dataset_meta_of(cfg)
    meta['classes'] = tuple(meta['classes'])
    if meta.get('palette') is None:
        meta['palette'] = inferencer.model.dataset_meta.get('palette')
    inferencer.model.dataset_meta = meta
    inferencer.visualizer.dataset_meta = meta
    return meta


# ------------------------------------------------------------- inferencer
def build_inferencer(cfg: Config,
                     checkpoint: str,
                     device: Optional[str] = None):
    """The code base's inferencer for ``cfg`` with ``checkpoint`` loaded.

    Args:
        cfg (Config): An MMDetection or MMSegmentation config.
        checkpoint (str): Checkpoint file (path or URL).
        device (str, optional): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...; None
            picks a GPU when there is one.

    Returns:
        DetInferencer | MMSegInferencer: With its own progress bar off (the
        tool shows one per folder or video instead).

    Raises:
        ToolError: The config is neither MMDetection's nor MMSegmentation's.
    """
    codebase = codebase_of(cfg)
    if codebase == 'mmdet':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(
            model=cfg, weights=checkpoint, device=device, show_progress=False)
    elif codebase == 'mmseg':
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(
            model=cfg, weights=checkpoint, device=device)
    else:
        raise ToolError('the config must have default_scope mmdet or mmseg, '
                        f'got {cfg.get("default_scope")!r}')
    inferencer.show_progress = False
    return inferencer


def predict(inferencer, images: list, batch_size: int = 1) -> list:
    """The inferencer's data samples for a list of images.

    Args:
        inferencer (DetInferencer | MMSegInferencer): From
            :func:`build_inferencer`.
        images (list[str | np.ndarray]): Paths, or BGR (H, W, 3) uint8 arrays
            (as ``mmcv.imread`` returns them).
        batch_size (int): Images per forward pass. Defaults to 1.

    Returns:
        list[DetDataSample | SegDataSample]: One per image, in order.
    """
    out = inferencer(images, batch_size=batch_size, return_datasamples=True)
    preds = out['predictions'] if isinstance(out, dict) else out
    return list(preds) if isinstance(preds, (list, tuple)) else [preds]


def prediction_record(inferencer, sample) -> dict:
    """The JSON record of one detection: the inferencer's own ``pred2dict``
    (``labels``, ``scores``, ``bboxes`` as [x1, y1, x2, y2] pixels of the
    input image, ``masks`` as COCO RLE), plus ``label_names``."""
    record = inferencer.pred2dict(sample)
    classes = inferencer.model.dataset_meta.get('classes') or ()
    record['label_names'] = [
        classes[i] if i < len(classes) else str(i)
        for i in record.get('labels', [])
    ]
    return record


def label_map(sample, num_classes: int = 256) -> np.ndarray:
    """The predicted class index of every pixel of a segmentation.

    Args:
        sample (SegDataSample): A prediction with ``pred_sem_seg``.
        num_classes (int): Classes of the model; more than 256 need 16 bits.
            Defaults to 256.

    Returns:
        np.ndarray: (H, W), uint8 (uint16 for more than 256 classes).
    """
    seg = sample.pred_sem_seg.data[0].cpu().numpy()
    return seg.astype(np.uint8 if num_classes <= 256 else np.uint16)


def draw(inferencer,
         image_rgb: np.ndarray,
         sample,
         name: str = 'image',
         score_thr: float = 0.3) -> np.ndarray:
    """The image with the predictions drawn by the inferencer's visualizer.

    Args:
        inferencer (DetInferencer | MMSegInferencer): From
            :func:`build_inferencer`.
        image_rgb (np.ndarray): (H, W, 3) uint8, RGB.
        sample (DetDataSample | SegDataSample): Its prediction.
        name (str): Image name for the visualizer. Defaults to ``'image'``.
        score_thr (float): Detections below this score are not drawn
            (ignored for segmentation). Defaults to 0.3.

    Returns:
        np.ndarray: (H, W, 3) uint8, RGB.
    """
    visualizer = inferencer.visualizer
    if hasattr(inferencer, 'pred2dict'):  # MMDetection
        visualizer.add_datasample(
            name, image_rgb, sample, draw_gt=False, pred_score_thr=score_thr)
    else:  # as MMSegInferencer.visualize does it
        visualizer.set_dataset_meta(**inferencer.model.dataset_meta)
        visualizer.alpha = 0.8
        visualizer.add_datasample(name, image_rgb, sample, draw_gt=False)
    return visualizer.get_image()


# ------------------------------------------------------------------ driver
def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _progress():
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    return Progress(
        TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn())


class _Writer:
    """Writes one prediction (a picture and a JSON file or a label map)."""

    def __init__(self, inferencer, out_dir: str, score_thr: float):
        import mmcv
        self.mmcv = mmcv
        self.inferencer = inferencer
        self.is_det = hasattr(inferencer, 'pred2dict')
        self.vis_dir = osp.join(out_dir, 'vis')
        self.pred_dir = osp.join(out_dir, 'preds')
        self.score_thr = score_thr
        self.written: List[str] = []

    def prediction(self,
                   sample,
                   name: str,
                   source: str,
                   frame: Optional[int] = None) -> str:
        """Write ``preds/<name>.json`` (detection) or ``.png`` (segmentation)
        and return its path."""
        if self.is_det:
            record = dict(source=source)
            if frame is not None:
                record['frame'] = frame
            record.update(prediction_record(self.inferencer, sample))
            path = osp.join(self.pred_dir, name + '.json')
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(record, f)
        else:
            path = osp.join(self.pred_dir, name + '.png')
            classes = self.inferencer.model.dataset_meta['classes']
            self.mmcv.imwrite(label_map(sample, len(classes)), path)
        self.written.append(path)
        return path

    def picture(self, image_rgb, sample, name: str) -> np.ndarray:
        return draw(self.inferencer, image_rgb, sample, name, self.score_thr)


def run_inference(inferencer,
                  sources: Sequence[Source],
                  out_dir: str,
                  batch_size: int = 1,
                  score_thr: float = 0.3,
                  show_progress: bool = True) -> dict:
    """Predict every input and write the pictures and predictions.

    Layout under ``out_dir``:

    - ``vis/<name>.<ext>``: each image with its predictions drawn (boxes,
      masks and class names above ``score_thr``; or the segmentation
      blended over the image); ``vis/<video name>.mp4`` for a video;
    - ``preds/<name>.json`` (detection: ``source``, ``labels``,
      ``label_names``, ``scores``, ``bboxes`` as [x1, y1, x2, y2] pixels,
      ``masks`` as COCO RLE for instance segmentation; all the model's
      detections, whatever ``score_thr``) or ``preds/<name>.png``
      (segmentation: the class index of every pixel, the classes listed in
      ``preds/classes.json``);
    - for a video, one prediction per frame: ``preds/<video name>/
      <frame:06d>.json`` or ``.png`` (JSON records carry ``frame``).

    Args:
        inferencer (DetInferencer | MMSegInferencer): From
            :func:`build_inferencer`.
        sources (Sequence[Source]): From :func:`collect_inputs`.
        out_dir (str): Output folder (created).
        batch_size (int): Images or frames per forward pass. Defaults to 1.
        score_thr (float): Drawing threshold of detections. Defaults to 0.3.
        show_progress (bool): A progress bar per folder or video.
            Defaults to True.

    Returns:
        dict: ``images`` and ``frames`` predicted, and the files written:
        ``vis`` and ``preds`` (lists of paths).

    Raises:
        ToolError: A video that cannot be read or written.
        ValueError: ``batch_size`` < 1.
    """
    import mmcv
    if batch_size < 1:
        raise ValueError(f'batch_size must be at least 1, got {batch_size}')
    writer = _Writer(inferencer, out_dir, score_thr)
    os.makedirs(writer.vis_dir, exist_ok=True)
    os.makedirs(writer.pred_dir, exist_ok=True)
    summary = dict(images=0, frames=0, vis=[], preds=writer.written)
    if not writer.is_det:
        with open(osp.join(writer.pred_dir, 'classes.json'), 'w') as f:
            json.dump(list(inferencer.model.dataset_meta['classes']), f)
    with _progress() as progress:
        for source in sources:
            if source.kind == 'video':
                _video(inferencer, source, writer, batch_size, progress,
                       show_progress, summary)
                continue
            task = progress.add_task(
                f'{source.path}',
                total=len(source.images),
                visible=show_progress and source.kind == 'folder')
            for chunk in _chunks(source.images, batch_size):
                for path, sample in zip(
                        chunk, predict(inferencer, list(chunk), batch_size)):
                    name = _stem(path)
                    writer.prediction(sample, name, path)
                    out = osp.join(writer.vis_dir, osp.basename(path))
                    img = mmcv.imread(path, channel_order='rgb')
                    mmcv.imwrite(
                        writer.picture(img, sample, name)[..., ::-1], out)
                    summary['vis'].append(out)
                    summary['images'] += 1
                progress.advance(task, len(chunk))
    return summary


def _video(inferencer, source: Source, writer: _Writer, batch_size: int,
           progress, show_progress: bool, summary: dict) -> None:
    """Predict every frame of a video: a drawn video and per-frame files."""
    import cv2
    import mmcv
    try:
        reader = mmcv.VideoReader(source.path)
    except Exception as e:  # noqa: BLE001  (OpenCV's errors are generic)
        raise ToolError(f'cannot read video {source.path}: {e}') from e
    name = _stem(source.path)
    out = osp.join(writer.vis_dir, name + '.mp4')
    video = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*'mp4v'), reader.fps
                            or 25, (reader.width, reader.height))
    if not video.isOpened():
        raise ToolError(f'OpenCV cannot write the video {out} (mp4v)')
    task = progress.add_task(
        source.path, total=reader.frame_cnt or None, visible=show_progress)
    index = 0
    try:
        for chunk in _chunks_of_frames(reader, batch_size):
            samples = predict(inferencer, chunk, batch_size)
            for frame, sample in zip(chunk, samples):
                frame_name = f'{name}/{index:06d}'
                writer.prediction(sample, frame_name, source.path, index)
                drawn = writer.picture(frame[..., ::-1], sample, frame_name)
                video.write(np.ascontiguousarray(drawn[..., ::-1]))
                index += 1
            progress.advance(task, len(chunk))
    finally:
        video.release()
    if index == 0:
        raise ToolError(f'no frames could be read from {source.path}')
    summary['frames'] += index
    summary['vis'].append(out)


def _chunks_of_frames(reader, size: int) -> Iterator[List[np.ndarray]]:
    chunk: List[np.ndarray] = []
    for frame in reader:
        if frame is None:
            break
        chunk.append(frame)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def inference_summary(summary: dict, out_dir: str) -> str:
    """One line on what :func:`run_inference` wrote."""
    parts = []
    if summary['images']:
        parts.append(f'{summary["images"]} image' +
                     ('s' if summary["images"] > 1 else ''))
    if summary['frames']:
        parts.append(f'{summary["frames"]} video frames')
    return (f'{" and ".join(parts) or "nothing"} predicted: pictures in '
            f'{osp.join(out_dir, "vis")}, predictions in '
            f'{osp.join(out_dir, "preds")}')


__all__ = [
    'IMAGE_EXTENSIONS', 'VIDEO_EXTENSIONS', 'Source', 'collect_inputs',
    'check_checkpoint_fits', 'names_classes', 'use_config_classes',
    'build_inferencer', 'predict', 'prediction_record', 'label_map', 'draw',
    'run_inference', 'inference_summary'
]
