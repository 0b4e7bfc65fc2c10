# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Checking an export against the PyTorch model on the same inputs.

:func:`verify_export` runs the exported file on ONNX Runtime and the model
in PyTorch and compares

- the raw outputs (:func:`compare_outputs`: largest absolute difference over
  the output's scale, ``max(1, max |torch|)``, at most ``tol``);
- for a detector, the numpy post-processing of the ONNX Runtime outputs
  against MMDetection's own ``predict`` (:func:`compare_detections`: same
  labels, scores within ``score_tol``, boxes within ``box_tol`` pixels);
- for a segmentor, the numpy label maps against MMSegmentation's
  ``predict`` (:func:`compare_label_maps`: at most ``max_label_diff`` of the
  pixels differ, for near-ties of the logits).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .export import named, output_names, torch_outputs
from .runtime import OnnxModel


def compare_outputs(ref: Dict[str, np.ndarray],
                    out: Dict[str, np.ndarray],
                    tol: float = 1e-4) -> dict:
    """Compare raw outputs by name.

    Args:
        ref (dict): Name -> reference array (PyTorch).
        out (dict): Name -> array to check, same names and shapes.
        tol (float): Largest allowed ``max |out - ref| / max(1, max |ref|)``
            (an absolute error for outputs of magnitude up to 1, a relative
            one above). Defaults to 1e-4.

    Returns:
        dict: ``outputs`` (per name: ``shape``, ``max_abs_diff``, ``scale``,
        ``error``), ``max_error`` and ``ok``.
    """
    rows = {}
    ok = True
    for name, r in ref.items():
        o = out[name]
        if tuple(o.shape) != tuple(r.shape):
            rows[name] = dict(
                shape=list(o.shape), expected=list(r.shape), error=math.inf)
            ok = False
            continue
        r64, o64 = np.asarray(r, np.float64), np.asarray(o, np.float64)
        diff = float(np.abs(o64 - r64).max()) if r.size else 0.0
        scale = max(1.0, float(np.abs(r64).max()) if r.size else 0.0)
        rows[name] = dict(
            shape=list(r.shape),
            max_abs_diff=diff,
            scale=scale,
            error=diff / scale)
        ok &= diff / scale <= tol
    worst = max((v['error'] for v in rows.values()), default=0.0)
    return dict(outputs=rows, max_error=worst, ok=bool(ok))


def compare_detections(ref: Dict[str, np.ndarray],
                       out: Dict[str, np.ndarray],
                       score_tol: float = 1e-4,
                       box_tol: float = 1e-2,
                       max_unmatched: float = 0.01) -> dict:
    """Match two detection lists box by box.

    A reference box is matched by an unused box of the same label whose
    score is within ``score_tol`` and whose coordinates are within
    ``box_tol`` pixels. Near-ties (a score at the ``max_per_img`` cut, an
    IoU at the NMS threshold) may swap a box or two, so up to
    ``max_unmatched`` of the reference boxes may stay unmatched (0 below
    100 boxes).

    Args:
        ref (dict): ``bboxes`` (K, 4), ``scores`` (K, ), ``labels`` (K, ),
            highest score first.
        out (dict): The same for the detections to check.
        score_tol (float): Defaults to 1e-4.
        box_tol (float): Pixels. Defaults to 1e-2.
        max_unmatched (float): Fraction. Defaults to 0.01.

    Returns:
        dict: ``num_ref``, ``num_out``, ``matched``, ``max_score_diff``,
        ``max_box_diff`` (over matched boxes) and ``ok``.
    """
    rb, rs, rl = (np.asarray(ref[k]) for k in ('bboxes', 'scores', 'labels'))
    ob, os_, ol = (np.asarray(out[k]) for k in ('bboxes', 'scores', 'labels'))
    used = np.zeros(len(os_), bool)
    matched, dscore, dbox = 0, 0.0, 0.0
    for b, s, lab in zip(rb, rs, rl):
        cand = np.flatnonzero(~used & (ol == lab)
                              & (np.abs(os_ - s) <= score_tol))
        if len(cand):
            diffs = np.abs(ob[cand] - b).max(axis=1)
            j = int(np.argmin(diffs))
            if diffs[j] <= box_tol:
                used[cand[j]] = True
                matched += 1
                dscore = max(dscore, float(abs(os_[cand[j]] - s)))
                dbox = max(dbox, float(diffs[j]))
    allowed = math.floor(max_unmatched * len(rs))
    ok = (len(rs) - matched <= allowed) and (len(os_) - matched <= allowed)
    return dict(
        num_ref=len(rs),
        num_out=len(os_),
        matched=matched,
        max_score_diff=dscore,
        max_box_diff=dbox,
        ok=bool(ok))


def compare_label_maps(ref: np.ndarray,
                       out: np.ndarray,
                       max_label_diff: float = 1e-3) -> dict:
    """Compare two label maps.

    Returns:
        dict: ``pixels``, ``different`` (fraction of pixels whose labels
        differ) and ``ok`` (shapes equal and ``different <= max_label_diff``).
    """
    if ref.shape != out.shape:
        return dict(pixels=int(ref.size), different=1.0, ok=False)
    frac = float((np.asarray(ref) != np.asarray(out)).mean()) if ref.size \
        else 0.0
    return dict(
        pixels=int(ref.size), different=frac, ok=frac <= max_label_diff)


def random_input(shape: Tuple[int, int],
                 batch: int = 1,
                 seed: int = 0) -> Tuple[np.ndarray, List[dict]]:
    """A normalised random batch and image metas that exercise the
    post-processing: each image was resized by 0.75 (``ori_shape`` =
    ``img_shape`` / 0.75) and padded by up to 8 pixels at the bottom and
    right.

    Returns:
        tuple: (N, 3, H, W) float32 and one meta per image (see
        :func:`mmconvmlp.deployment.postprocess.preprocess`).
    """
    h, w = shape
    x = np.random.default_rng(seed).standard_normal(
        (batch, 3, h, w)).astype(np.float32)
    ph, pw = min(8, h // 4), min(8, w // 4)
    img = (h - ph, w - pw)
    meta = dict(
        img_shape=img,
        pad_shape=(h, w),
        ori_shape=(round(img[0] / .75), round(img[1] / .75)),
        scale_factor=(.75, .75),
        padding_size=[0, pw, 0, ph])
    return x, [dict(meta) for _ in range(batch)]


def torch_predictions(model, kind: str, inputs: np.ndarray,
                      img_metas: Sequence[dict]) -> list:
    """MMDetection's or MMSegmentation's own ``predict`` on a pre-processed
    batch: per image a dict of ``bboxes``/``scores``/``labels`` or a label
    map (numpy)."""
    x = torch.from_numpy(inputs)
    with torch.no_grad():
        if kind == 'detector':
            from mmdet.structures import DetDataSample
            samples = [DetDataSample(metainfo=dict(m)) for m in img_metas]
            res = model.predict(x, samples, rescale=True)
            return [{
                k: getattr(r.pred_instances, k).numpy()
                for k in ('bboxes', 'scores', 'labels')
            } for r in res]
        from mmseg.structures import SegDataSample
        samples = [SegDataSample(metainfo=dict(m)) for m in img_metas]
        res = model.predict(x, samples)
        return [r.pred_sem_seg.data[0].numpy() for r in res]


def verify_export(model,
                  kind: str,
                  path: str,
                  batches: Sequence[Tuple[np.ndarray, List[dict]]],
                  threads: Optional[int] = None,
                  tol: float = 1e-4,
                  score_tol: float = 1e-4,
                  box_tol: float = 1e-2,
                  max_label_diff: float = 1e-3) -> dict:
    """Run an export on ONNX Runtime and compare it with the PyTorch model.

    Args:
        model: The exported model (eval mode).
        kind (str): ``'backbone'``, ``'detector'`` or ``'segmentor'``.
        path (str): The ``.onnx`` file.
        batches (Sequence[tuple]): ``(inputs, img_metas)`` pairs, e.g. from
            :func:`random_input` at two sizes (a file exported with
            ``dynamic=False`` takes only its export size).
        threads (int, optional): ONNX Runtime's intra-op threads.
        tol, score_tol, box_tol, max_label_diff: See
            :func:`compare_outputs`, :func:`compare_detections` and
            :func:`compare_label_maps`.

    Returns:
        dict: ``checks`` (per batch: ``shape``, ``outputs``
        (:func:`compare_outputs`) and, for a detector or segmentor,
        ``predictions`` (one comparison per image)) and ``ok`` (all passed).
    """
    runner = OnnxModel(path, threads)
    names = output_names(kind, model)
    checks = []
    for inputs, metas in batches:
        ref = named(names, [
            t.numpy()
            for t in torch_outputs(model, kind, torch.from_numpy(inputs))
        ])
        outs = runner.run(inputs)
        check = dict(
            shape=list(inputs.shape), outputs=compare_outputs(ref, outs, tol))
        ok = check['outputs']['ok']
        if kind != 'backbone':
            mine = runner.postprocess(outs, metas)
            theirs = torch_predictions(model, kind, inputs, metas)
            if kind == 'detector':
                preds = [
                    compare_detections(t, m, score_tol, box_tol)
                    for t, m in zip(theirs, mine)
                ]
            else:
                preds = [
                    compare_label_maps(t, m, max_label_diff)
                    for t, m in zip(theirs, mine)
                ]
            check['predictions'] = preds
            ok &= all(p['ok'] for p in preds)
        check['ok'] = bool(ok)
        checks.append(check)
    return dict(checks=checks, ok=all(c['ok'] for c in checks))


def report_lines(report: dict) -> List[str]:
    """:func:`verify_export`'s report as text lines."""
    lines = []
    for c in report['checks']:
        o = c['outputs']
        lines.append(
            f'input {"x".join(map(str, c["shape"]))}: {len(o["outputs"])} '
            f'outputs, largest error {o["max_error"]:.2e} '
            f'(|onnx - torch| / max(1, |torch|)) '
            f'{"ok" if o["ok"] else "FAILED"}')
        for p in c.get('predictions', []):
            if 'matched' in p:
                lines.append(
                    f'  detections: {p["matched"]} of {p["num_ref"]} '
                    f'(mmdet) matched by {p["num_out"]} (numpy on ONNX '
                    f'Runtime), largest score diff {p["max_score_diff"]:.1e}'
                    f', box diff {p["max_box_diff"]:.1e} px '
                    f'{"ok" if p["ok"] else "FAILED"}')
            else:
                lines.append(f'  label map: {p["different"] * 100:.3f} % of '
                             f'{p["pixels"]} pixels differ from mmseg\'s '
                             f'{"ok" if p["ok"] else "FAILED"}')
    lines.append('verification ' + ('passed' if report['ok'] else 'FAILED'))
    return lines


__all__ = [
    'compare_outputs', 'compare_detections', 'compare_label_maps',
    'random_input', 'torch_predictions', 'verify_export', 'report_lines'
]
