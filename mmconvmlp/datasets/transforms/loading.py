# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Loading images so that one bad file does not end a long run."""
import logging
import math
import os
import os.path as osp
from typing import Dict, Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from mmconvmlp.registry import TRANSFORMS
from mmconvmlp.utils.checks import ToolError
from ..checks import decode_error


class BadDataError(ToolError):
    """More images failed to load than the configured share allows."""


@TRANSFORMS.register_module()
class SafeLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that skips images it cannot read.

    MMCV's loader raises on a file that cannot be read or decoded (an
    OpenCV assertion without the file's name for an empty one), which ends
    the run. This one logs a WARNING naming the file (once per file and
    process) and returns None, so that MMEngine's ``BaseDataset.__getitem__``
    fetches another sample in its place. When more than
    ``max_bad_fraction`` of the dataset's images have failed, it raises
    :class:`BadDataError`.

    The data loader's worker processes each hold a copy of the transform,
    made anew each epoch unless the workers persist. With ``record_file``
    they append each image they skip to that file and count the distinct
    images in it, so the share is that of the whole run; without it each
    copy counts the images it skipped itself.

    A dataset in test mode cannot fetch another sample (MMEngine raises on
    None); with ``skip_bad=False`` the error is raised at once, naming the
    file.

    Args:
        skip_bad (bool): Skip unreadable images (training); False: raise.
            Defaults to True.
        max_bad_fraction (float): Share of ``num_samples`` that may fail,
            0 to 1. Defaults to 0.01.
        num_samples (int, optional): Images in the dataset. None: the
            share is taken of the distinct images loaded so far, and only
            once there are at least ``1 / max_bad_fraction`` of them (so
            that the first failure of a run does not end it).
        record_file (str, optional): Text file the skipped images are
            appended to (``path<TAB>reason`` lines) and counted from.
            Defaults to None.
        **kwargs: The arguments of MMCV's ``LoadImageFromFile``.

    Raises:
        ValueError: ``max_bad_fraction`` is not within [0, 1].
    """

    def __init__(self,
                 skip_bad: bool = True,
                 max_bad_fraction: float = 0.01,
                 num_samples: Optional[int] = None,
                 record_file: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError('max_bad_fraction must be within [0, 1], got '
                             f'{max_bad_fraction}')
        self.skip_bad = skip_bad
        self.max_bad_fraction = max_bad_fraction
        self.num_samples = num_samples
        self.record_file = record_file
        self.bad: Dict[str, str] = {}  # path -> reason, in order found
        self._loaded = set()  # distinct paths, when num_samples is None

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None when the image was skipped.

        Raises:
            OSError: ``skip_bad=False`` and the image cannot be read.
            BadDataError: Too many images failed.
        """
        path = results['img_path']
        try:
            loaded = super().transform(results)
        except Exception as e:  # noqa: BLE001  (any reader/decoder error)
            if not self.skip_bad:
                raise OSError(f'cannot load image {path}: '
                              f'{decode_error(e)}') from e
            return self._skip(path, decode_error(e))
        if loaded is not None and self.num_samples is None:
            self._loaded.add(path)
        return loaded

    def _skip(self, path: str, reason: str) -> None:
        """Record a failed image; raise once too many failed."""
        if path in self.bad:
            return None  # counted and logged already
        self.bad[path] = reason
        if self.record_file:
            os.makedirs(
                osp.dirname(osp.abspath(self.record_file)), exist_ok=True)
            with open(self.record_file, 'a') as f:  # one short append
                f.write(f'{path}\t{reason}\n')
        bad = self._all_bad()
        print_log(
            f'skipped image {path}: {reason} ({len(bad)} skipped so far)',
            logger='current',
            level=logging.WARNING)
        total = self.num_samples
        if total is None:
            total = len(self._loaded) + len(bad)
            if self.max_bad_fraction and \
                    total < math.ceil(1 / self.max_bad_fraction):
                return None
        if len(bad) > self.max_bad_fraction * total:
            first = '; '.join(f'{p} ({r})' for p, r in list(bad.items())[:3])
            raise BadDataError(
                f'{len(bad)} of {total} images could not be loaded, more '
                f'than max_bad_fraction={self.max_bad_fraction:g} allows; '
                f'first: {first}. Fix or remove them '
                '(tools/misc/check_dataset.py lists every one), or allow '
                'more with --cfg-options data_checks.max_bad_fraction=F.')
        return None

    def _all_bad(self) -> Dict[str, str]:
        """The images skipped by every process writing ``record_file``
        (this one's alone without it)."""
        bad = {}
        if self.record_file:
            try:
                with open(self.record_file) as f:
                    for line in f:
                        image, _, reason = line.rstrip('\n').partition('\t')
                        bad.setdefault(image, reason)
            except OSError:
                pass  # unreadable: count this process's failures
        for image, reason in self.bad.items():
            bad.setdefault(image, reason)
        return bad

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', skip_bad={self.skip_bad}, '
                f'max_bad_fraction={self.max_bad_fraction}, '
                f'num_samples={self.num_samples}, '
                f'record_file={self.record_file!r})')
