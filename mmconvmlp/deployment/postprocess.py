# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Pre- and post-processing of exported models in numpy.

An exported detector or segmentor (:func:`mmconvmlp.deployment.export_onnx`)
ends at the raw head outputs; what MMDetection and MMSegmentation do around
the network is redone here without torch, from the settings the export
stores in the ONNX file (:func:`detector_settings`,
:func:`segmentor_settings`):

- :func:`preprocess`: keep-ratio resize (as ``mmcv.imrescale``), mean/std
  normalisation, BGR -> RGB, padding to a multiple of the size divisor;
- :func:`detector_postprocess`: RetinaNet-style dense heads (anchors, sigmoid
  or softmax scores, score threshold, top-k per level, ``DeltaXYWHBBoxCoder``
  decoding, rescaling, class-aware NMS, ``max_per_img``), as
  ``BaseDenseHead.predict_by_feat`` does;
- :func:`segmentor_postprocess`: bilinear resizing of the logits to the padded
  image, padding crop, resizing to the original image, argmax, as
  ``EncoderDecoder.predict`` does.

Boxes are ``(x1, y1, x2, y2)`` in pixels, float32; arrays are float32 unless
said otherwise.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# -------------------------------------------------------------- settings


def detector_settings(model) -> dict:
    """What :func:`detector_postprocess` needs from an MMDetection model.

    Args:
        model: A single-stage detector whose ``bbox_head`` is an anchor head
            with an ``AnchorGenerator``-like prior generator (``base_anchors``,
            ``strides``) and a ``DeltaXYWHBBoxCoder`` (RetinaNet, ...).

    Returns:
        dict: JSON-serialisable: ``num_classes``, ``use_sigmoid``,
        ``base_anchors`` (per level, (A, 4) nested lists), ``strides`` (per
        level ``[w, h]``), ``coder`` (``means``, ``stds``, ``clip_border``,
        ``add_ctr_clamp``, ``ctr_clamp``, ``wh_ratio_clip``) and
        ``test_cfg`` (``nms_pre``, ``score_thr``, ``min_bbox_size``,
        ``nms`` dict, ``max_per_img``).

    Raises:
        NotImplementedError: A head, prior generator, box coder or NMS this
            module does not redo (two-stage detectors, anchor-free heads,
            soft-NMS, heads with score factors, ...).
    """
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    head = getattr(model, 'bbox_head', None)
    name = type(head).__name__
    if not isinstance(head, AnchorHead) or hasattr(model, 'roi_head'):
        raise NotImplementedError(
            f'whole-model export supports single-stage anchor heads '
            f'(RetinaNet); this model has {name}. Export the backbone only '
            '(--what backbone).')
    if getattr(head.loss_cls, 'custom_cls_channels', False):
        raise NotImplementedError(f'{name}: custom classification channels')
    coder = head.bbox_coder
    if type(coder) is not DeltaXYWHBBoxCoder:
        raise NotImplementedError(
            f'{name}: box coder {type(coder).__name__}, only '
            'DeltaXYWHBBoxCoder is redone in numpy')
    priors = head.prior_generator
    if not hasattr(priors, 'base_anchors'):
        raise NotImplementedError(
            f'{name}: prior generator {type(priors).__name__} has no anchors')
    cfg = head.test_cfg
    nms = dict(cfg.get('nms') or {})
    if nms.get('type', 'nms') != 'nms':
        raise NotImplementedError(f'{name}: NMS type {nms["type"]!r}, only '
                                  "'nms' is redone in numpy")
    return dict(
        num_classes=int(head.num_classes),
        use_sigmoid=bool(head.use_sigmoid_cls),
        base_anchors=[a.tolist() for a in priors.base_anchors],
        strides=[[float(s) for s in st] for st in priors.strides],
        coder=dict(
            means=list(coder.means),
            stds=list(coder.stds),
            clip_border=bool(coder.clip_border),
            add_ctr_clamp=bool(coder.add_ctr_clamp),
            ctr_clamp=float(coder.ctr_clamp),
            # decode()'s default; RetinaHead passes none.
            wh_ratio_clip=16 / 1000),
        test_cfg=dict(
            nms_pre=int(cfg.get('nms_pre', -1)),
            score_thr=float(cfg.get('score_thr', 0)),
            min_bbox_size=float(cfg.get('min_bbox_size', -1)),
            nms=nms,
            max_per_img=int(cfg.get('max_per_img', -1))))


def segmentor_settings(model) -> dict:
    """What :func:`segmentor_postprocess` needs from an MMSegmentation model.

    Args:
        model: An ``EncoderDecoder`` with ``test_cfg.mode='whole'``.

    Returns:
        dict: ``num_classes``, ``align_corners`` and ``threshold`` (of a
        one-channel head).

    Raises:
        NotImplementedError: Another segmentor, or sliding-window testing.
    """
    from mmseg.models.segmentors import EncoderDecoder
    if not isinstance(model, EncoderDecoder) or hasattr(model, 'num_stages'):
        raise NotImplementedError(
            f'whole-model export supports EncoderDecoder segmentors, got '
            f'{type(model).__name__}')
    mode = (model.test_cfg or {}).get('mode', 'whole')
    if mode != 'whole':
        raise NotImplementedError(f'test_cfg.mode={mode!r}: only whole-image '
                                  'inference is exported')
    head = model.decode_head
    return dict(
        num_classes=int(head.num_classes),
        out_channels=int(head.out_channels),
        align_corners=bool(head.align_corners),
        threshold=float(getattr(head, 'threshold', None) or 0.3))


def preprocessor_settings(cfg) -> dict:
    """The data pre-processing of a config's model and test pipeline.

    Args:
        cfg (mmengine.Config): An MMDetection or MMSegmentation config.

    Returns:
        dict: ``mean``, ``std`` (per channel, or None), ``bgr_to_rgb``,
        ``size_divisor`` (or None), ``pad_value`` and ``resize`` (``scale``
        as (w, h) and ``keep_ratio`` of the test pipeline's ``Resize``, or
        None).
    """
    dp = cfg.model.get('data_preprocessor') or {}
    resize = None
    # The pipelines the code bases' inference APIs use: MMDetection's
    # inference_detector the test loader's, MMSegmentation's inference_model
    # test_pipeline.
    loader = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    pipelines = [loader.get('pipeline'), cfg.get('test_pipeline')]
    if cfg.get('default_scope') == 'mmseg':
        pipelines.reverse()
    pipeline = next((p for p in pipelines if p), [])
    for step in pipeline:
        if step.get('type', '').split('.')[-1] == 'Resize' and 'scale' in step:
            resize = dict(
                scale=list(step['scale']),
                keep_ratio=bool(step.get('keep_ratio', False)))
    divisor = dp.get('pad_size_divisor', dp.get('size_divisor'))
    return dict(
        mean=list(dp['mean']) if dp.get('mean') is not None else None,
        std=list(dp['std']) if dp.get('std') is not None else None,
        bgr_to_rgb=bool(dp.get('bgr_to_rgb', dp.get('rgb_to_bgr', False))),
        size_divisor=int(divisor) if divisor else None,
        pad_value=float(dp.get('pad_value', dp.get('pad_val', 0))),
        resize=resize)


# ---------------------------------------------------------- pre-processing


def rescale_size(size: Tuple[int, int],
                 scale: Sequence[int]) -> Tuple[Tuple[int, int], float]:
    """The keep-ratio size of ``mmcv.rescale_size``.

    Args:
        size (tuple[int, int]): (w, h) of the image.
        scale (Sequence[int]): Longest and shortest edge allowed, any order.

    Returns:
        tuple: ((new_w, new_h), the scale factor).
    """
    w, h = size
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return (int(w * factor + 0.5), int(h * factor + 0.5)), factor


def preprocess(image: np.ndarray,
               settings: dict,
               resize: bool = True) -> Tuple[np.ndarray, dict]:
    """One BGR image to the network input and its image meta.

    Args:
        image (np.ndarray): (H, W, 3) uint8 or float, BGR (as ``cv2.imread``
            and MMCV's loaders give).
        settings (dict): :func:`preprocessor_settings`.
        resize (bool): Apply the test pipeline's ``Resize`` (bilinear, as
            MMCV's ``cv2`` backend). Defaults to True.

    Returns:
        tuple: ``inputs`` (1, 3, H', W') float32 and ``meta``: ``ori_shape``,
        ``img_shape`` (after resizing), ``pad_shape`` (after padding),
        ``scale_factor`` (w, h) and ``padding_size`` (left, right, top,
        bottom), as the post-processing functions take it.
    """
    ori = image.shape[:2]
    img = image
    spec = settings.get('resize') if resize else None
    scale = (1.0, 1.0)
    if spec:
        import cv2
        if spec['keep_ratio']:
            new, _ = rescale_size((ori[1], ori[0]), spec['scale'])
        else:
            new = tuple(spec['scale'])
        # In the image's own dtype, as MMCV (uint8 images stay uint8).
        img = cv2.resize(img, new, interpolation=cv2.INTER_LINEAR)
        scale = (new[0] / ori[1], new[1] / ori[0])
    img = img.astype(np.float32)
    if settings.get('bgr_to_rgb'):
        img = img[..., ::-1]
    if settings.get('mean') is not None:
        img = ((img - np.float32(settings['mean'])) /
               np.float32(settings['std']))
    h, w = img.shape[:2]
    div = settings.get('size_divisor')
    ph, pw = (math.ceil(h / div) * div, math.ceil(w / div) * div) if div \
        else (h, w)
    out = np.full((ph, pw, 3), settings.get('pad_value', 0), np.float32)
    out[:h, :w] = img
    meta = dict(
        ori_shape=ori,
        img_shape=(h, w),
        pad_shape=(ph, pw),
        scale_factor=scale,
        padding_size=[0, pw - w, 0, ph - h])
    return out.transpose(2, 0, 1)[None].copy(), meta


# ------------------------------------------------------------ detection


def grid_anchors(base_anchors: Sequence, strides: Sequence,
                 featmap_sizes: Sequence[Tuple[int, int]]) -> List[np.ndarray]:
    """All anchors of every level, as ``AnchorGenerator.grid_priors``.

    Args:
        base_anchors (Sequence): Per level, (A, 4) anchors at the origin.
        strides (Sequence): Per level, (stride_w, stride_h).
        featmap_sizes (Sequence[tuple[int, int]]): Per level, (H, W).

    Returns:
        list[np.ndarray]: Per level, (H * W * A, 4): pixel-major, then anchor,
        matching a (A * k, H, W) head output read as (H, W, A, k).
    """
    out = []
    for base, (sw, sh), (h, w) in zip(base_anchors, strides, featmap_sizes):
        base = np.asarray(base, np.float32)
        xs = np.arange(w, dtype=np.float32) * np.float32(sw)
        ys = np.arange(h, dtype=np.float32) * np.float32(sh)
        xx, yy = np.tile(xs, h), np.repeat(ys, w)
        shifts = np.stack([xx, yy, xx, yy], axis=-1)
        out.append((base[None] + shifts[:, None]).reshape(-1, 4))
    return out


def decode_boxes(anchors: np.ndarray,
                 deltas: np.ndarray,
                 coder: dict,
                 max_shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """``DeltaXYWHBBoxCoder.decode`` (``delta2bbox``) for (N, 4) inputs.

    Args:
        anchors (np.ndarray): (N, 4) boxes.
        deltas (np.ndarray): (N, 4) predicted (dx, dy, dw, dh).
        coder (dict): ``means``, ``stds``, ``clip_border``,
            ``add_ctr_clamp``, ``ctr_clamp`` and ``wh_ratio_clip``.
        max_shape (tuple[int, int], optional): (H, W) to clip to.

    Returns:
        np.ndarray: (N, 4) boxes.
    """
    d = deltas * np.float32(coder['stds']) + np.float32(coder['means'])
    dxy, dwh = d[:, :2], d[:, 2:]
    pxy = (anchors[:, :2] + anchors[:, 2:]) * np.float32(0.5)
    pwh = anchors[:, 2:] - anchors[:, :2]
    dxy_wh = pwh * dxy
    max_ratio = np.float32(abs(math.log(coder['wh_ratio_clip'])))
    if coder['add_ctr_clamp']:
        c = np.float32(coder['ctr_clamp'])
        dxy_wh = np.clip(dxy_wh, -c, c)
        dwh = np.minimum(dwh, max_ratio)
    else:
        dwh = np.clip(dwh, -max_ratio, max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * np.exp(dwh)
    half = gwh * np.float32(0.5)
    boxes = np.concatenate([gxy - half, gxy + half], axis=1)
    if coder['clip_border'] and max_shape is not None:
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, max_shape[1])
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, max_shape[0])
    return boxes


def nms(boxes: np.ndarray, scores: np.ndarray,
        iou_threshold: float) -> np.ndarray:
    """Greedy NMS as MMCV's CPU ``nms`` (offset 0, float32 IoU).

    A box is dropped when its IoU with a kept, higher-scoring box is above
    ``iou_threshold``.

    Args:
        boxes (np.ndarray): (N, 4).
        scores (np.ndarray): (N, ).
        iou_threshold (float): IoU above which the lower-scoring box goes.

    Returns:
        np.ndarray: Indices of the kept boxes (int64), highest score first.
    """
    order = np.argsort(-scores, kind='stable')
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    alive = np.ones(len(scores), bool)
    keep = []
    for pos, i in enumerate(order):
        if not alive[i]:
            continue
        keep.append(i)
        rest = order[pos + 1:]
        rest = rest[alive[rest]]
        if not len(rest):
            break
        w = np.maximum(
            np.float32(0),
            np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(
            np.float32(0),
            np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        alive[rest[iou > np.float32(iou_threshold)]] = False
    return np.asarray(keep, np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                nms_cfg: dict) -> Tuple[np.ndarray, np.ndarray]:
    """Class-aware NMS as MMCV's ``batched_nms``.

    Boxes of different labels never suppress each other: below
    ``split_thr`` boxes (10,000) each label's boxes are shifted apart by
    ``label * (max coordinate + 1)``, as MMCV does, above it each label runs
    on its own.

    Args:
        boxes (np.ndarray): (N, 4).
        scores (np.ndarray): (N, ).
        labels (np.ndarray): (N, ) ints.
        nms_cfg (dict): ``iou_threshold``, optionally ``class_agnostic`` and
            ``split_thr``.

    Returns:
        tuple: the kept indices (highest score first) and their scores.
    """
    thr = nms_cfg['iou_threshold']
    if nms_cfg.get('class_agnostic', False):
        keep = nms(boxes, scores, thr)
    elif len(boxes) < nms_cfg.get('split_thr', 10000):
        offsets = labels.astype(np.float32) * (boxes.max() + np.float32(1))
        keep = nms(boxes + offsets[:, None], scores, thr)
    else:
        keep = np.concatenate([
            np.flatnonzero(labels == c)[nms(boxes[labels == c],
                                            scores[labels == c], thr)]
            for c in np.unique(labels)
        ])
        keep = keep[np.argsort(-scores[keep], kind='stable')]
    return keep, scores[keep]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(1) / (np.float32(1) + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _filter_topk(scores: np.ndarray, score_thr: float,
                 topk: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``filter_scores_and_topk``: (score, label, anchor index) of the
    ``topk`` best (anchor, class) pairs above ``score_thr``."""
    flat = scores.reshape(-1)
    valid = np.flatnonzero(flat > np.float32(score_thr))
    order = np.argsort(-flat[valid], kind='stable')
    # min(topk, n) as MMDetection: a negative nms_pre drops from the end.
    idx = valid[order[:min(topk, len(valid))]]
    num_classes = scores.shape[1]
    return flat[idx], idx % num_classes, idx // num_classes


def detector_postprocess(cls_scores: Sequence[np.ndarray],
                         bbox_preds: Sequence[np.ndarray],
                         settings: dict,
                         img_metas: Sequence[dict],
                         rescale: bool = True) -> List[Dict[str, np.ndarray]]:
    """Detections from raw dense-head outputs, as
    ``BaseDenseHead.predict_by_feat`` (without score factors).

    Args:
        cls_scores (Sequence[np.ndarray]): Per level, (N, A * C, H, W) logits.
        bbox_preds (Sequence[np.ndarray]): Per level, (N, A * 4, H, W).
        settings (dict): :func:`detector_settings`.
        img_metas (Sequence[dict]): Per image ``img_shape`` (H, W, to clip
            to) and, with ``rescale``, ``scale_factor`` (w, h).
        rescale (bool): Return boxes in the original image (divided by
            ``scale_factor``). Defaults to True.

    Returns:
        list[dict]: Per image ``bboxes`` (K, 4) float32, ``scores`` (K, )
        float32 and ``labels`` (K, ) int64, highest score first.
    """
    cfg = settings['test_cfg']
    sizes = [tuple(c.shape[-2:]) for c in cls_scores]
    anchors = grid_anchors(settings['base_anchors'], settings['strides'],
                           sizes)
    num_classes = settings['num_classes']
    results = []
    for i, meta in enumerate(img_metas):
        all_scores, all_labels, all_deltas, all_anchors = [], [], [], []
        for cls, box, anc in zip(cls_scores, bbox_preds, anchors):
            deltas = box[i].transpose(1, 2, 0).reshape(-1, 4)
            if settings['use_sigmoid']:
                logits = cls[i].transpose(1, 2, 0).reshape(-1, num_classes)
                scores = _sigmoid(logits)
            else:
                logits = cls[i].transpose(1, 2, 0).reshape(-1, num_classes + 1)
                scores = _softmax(logits)[:, :-1]
            s, lab, a = _filter_topk(scores, cfg['score_thr'], cfg['nms_pre'])
            all_scores.append(s)
            all_labels.append(lab)
            all_deltas.append(deltas[a])
            all_anchors.append(anc[a])
        scores = np.concatenate(all_scores)
        labels = np.concatenate(all_labels).astype(np.int64)
        boxes = decode_boxes(
            np.concatenate(all_anchors), np.concatenate(all_deltas),
            settings['coder'], tuple(meta['img_shape'][:2]))
        if rescale:
            sw, sh = meta['scale_factor']
            boxes = boxes * np.float32([1 / sw, 1 / sh, 1 / sw, 1 / sh])
        if cfg['min_bbox_size'] >= 0:
            w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            ok = (w > cfg['min_bbox_size']) & (h > cfg['min_bbox_size'])
            boxes, scores, labels = boxes[ok], scores[ok], labels[ok]
        if len(boxes):
            keep, scores = batched_nms(boxes, scores, labels, cfg['nms'])
            boxes, labels = boxes[keep], labels[keep]
            if cfg['max_per_img'] > 0:
                k = cfg['max_per_img']
                boxes, scores, labels = boxes[:k], scores[:k], labels[:k]
        results.append(
            dict(
                bboxes=boxes.astype(np.float32),
                scores=scores.astype(np.float32),
                labels=labels))
    return results


# --------------------------------------------------------- segmentation


def _linear_weights(src_size: int, dst_size: int, align_corners: bool):
    """Source indices and weights of 1-D linear interpolation, with torch's
    ``F.interpolate(mode='bilinear')`` source coordinates."""
    dst = np.arange(dst_size, dtype=np.float32)
    if align_corners:
        scale = np.float32((src_size - 1) / (dst_size - 1)) \
            if dst_size > 1 else np.float32(0)
        src = dst * scale
    else:
        scale = np.float32(src_size / dst_size)
        src = np.maximum((dst + np.float32(0.5)) * scale - np.float32(0.5),
                         np.float32(0))
    i0 = np.minimum(src.astype(np.int64), src_size - 1)
    i1 = np.minimum(i0 + 1, src_size - 1)
    w1 = (src - i0).astype(np.float32)
    return i0, i1, np.float32(1) - w1, w1


def resize_bilinear(x: np.ndarray,
                    size: Tuple[int, int],
                    align_corners: bool = False) -> np.ndarray:
    """Bilinear resizing of the last two axes, as ``F.interpolate``
    (no antialiasing).

    Args:
        x (np.ndarray): (..., H, W).
        size (tuple[int, int]): (H', W').
        align_corners (bool): As in ``F.interpolate``. Defaults to False.

    Returns:
        np.ndarray: (..., H', W'), float32.
    """
    x = x.astype(np.float32, copy=False)
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    i0, i1, w0, w1 = _linear_weights(x.shape[-1], size[1], align_corners)
    x = x[..., i0] * w0 + x[..., i1] * w1
    i0, i1, w0, w1 = _linear_weights(x.shape[-2], size[0], align_corners)
    return x[..., i0, :] * w0[:, None] + x[..., i1, :] * w1[:, None]


def segmentor_postprocess(seg_logits: np.ndarray, settings: dict,
                          img_metas: Sequence[dict]) -> List[np.ndarray]:
    """Label maps from raw decode-head logits, as ``EncoderDecoder.predict``
    (whole-image inference).

    The logits are resized to the padded input (``pad_shape``, else
    ``img_shape``), the padding is cut off (``padding_size``: left, right,
    top, bottom), the rest is resized to ``ori_shape``; then argmax over
    the classes (or a threshold on the sigmoid of a one-channel head).

    Args:
        seg_logits (np.ndarray): (N, C, h, w).
        settings (dict): :func:`segmentor_settings`.
        img_metas (Sequence[dict]): Per image ``ori_shape``, ``img_shape``,
            optionally ``pad_shape`` and ``padding_size``.

    Returns:
        list[np.ndarray]: Per image an (H, W) int64 label map.
    """
    ac = settings['align_corners']
    first = img_metas[0]
    size = tuple((first.get('pad_shape') or first['img_shape'])[:2])
    logits = resize_bilinear(seg_logits, size, ac)
    h, w = logits.shape[-2:]
    out = []
    for i, meta in enumerate(img_metas):
        left, right, top, bottom = meta.get('padding_size') or [0] * 4
        x = logits[i, :, top:h - bottom, left:w - right]
        x = resize_bilinear(x, tuple(meta['ori_shape'][:2]), ac)
        if x.shape[0] > 1:
            out.append(x.argmax(axis=0).astype(np.int64))
        else:
            out.append((_sigmoid(x[0])
                        > settings['threshold']).astype(np.int64))
    return out


__all__ = [
    'detector_settings', 'segmentor_settings', 'preprocessor_settings',
    'rescale_size', 'preprocess', 'grid_anchors', 'decode_boxes', 'nms',
    'batched_nms', 'detector_postprocess', 'resize_bilinear',
    'segmentor_postprocess'
]
