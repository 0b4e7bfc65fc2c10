# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Loading images so that one bad file does not end a long run."""
import logging
import math
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
    the run. This one logs a WARNING naming the file (once per file) and
    returns None, so that MMEngine's ``BaseDataset.__getitem__`` fetches
    another sample in its place. When more than ``max_bad_fraction`` of
    the dataset's images have failed, it raises :class:`BadDataError`.

    A dataset in test mode cannot fetch another sample (MMEngine raises on
    None); with ``skip_bad=False`` the error is raised at once, naming the
    file. The failures are counted per process: each data loader worker
    counts those it reads.

    Args:
        skip_bad (bool): Skip unreadable images (training); False: raise.
            Defaults to True.
        max_bad_fraction (float): Share of ``num_samples`` that may fail,
            0 to 1. Defaults to 0.01.
        num_samples (int, optional): Images in the dataset. None: the
            share is taken of the distinct images loaded so far, and only
            once there are at least ``1 / max_bad_fraction`` of them (so
            that the first failure of a run does not end it).
        **kwargs: The arguments of MMCV's ``LoadImageFromFile``.

    Raises:
        ValueError: ``max_bad_fraction`` is not within [0, 1].
    """

    def __init__(self,
                 skip_bad: bool = True,
                 max_bad_fraction: float = 0.01,
                 num_samples: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError('max_bad_fraction must be within [0, 1], got '
                             f'{max_bad_fraction}')
        self.skip_bad = skip_bad
        self.max_bad_fraction = max_bad_fraction
        self.num_samples = num_samples
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
        if path not in self.bad:
            self.bad[path] = reason
            print_log(
                f'skipped image {path}: {reason} ({len(self.bad)} '
                'skipped so far)',
                logger='current',
                level=logging.WARNING)
        total = self.num_samples
        if total is None:
            total = len(self._loaded) + len(self.bad)
            if self.max_bad_fraction and \
                    total < math.ceil(1 / self.max_bad_fraction):
                return None
        if len(self.bad) > self.max_bad_fraction * total:
            first = '; '.join(f'{p} ({r})'
                              for p, r in list(self.bad.items())[:3])
            raise BadDataError(
                f'{len(self.bad)} of {total} images could not be loaded, '
                f'more than max_bad_fraction={self.max_bad_fraction:g} '
                f'allows; first: {first}. Fix or remove them '
                '(tools/misc/check_dataset.py lists every one), or allow '
                'more with --cfg-options data_checks.max_bad_fraction=F.')
        return None

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', skip_bad={self.skip_bad}, '
                f'max_bad_fraction={self.max_bad_fraction}, '
                f'num_samples={self.num_samples})')
