"""Data checks: scans of datasets for data that would fail or be used in
silence, the tools' pre-flight check, and a loader that skips bad images."""
from .checks import (DatasetReport, Problem, check_box, scan_coco,
                     scan_segmentation, summary_lines)
from .preflight import (DATA_CHECKS, SPLIT_LOADERS, check_data,
                        data_check_settings, scan_config, scan_dataset,
                        unique_reports, use_safe_loading)
from .transforms import BadDataError, SafeLoadImageFromFile

__all__ = [
    'DatasetReport', 'Problem', 'check_box', 'scan_coco', 'scan_segmentation',
    'summary_lines', 'DATA_CHECKS', 'SPLIT_LOADERS', 'check_data',
    'data_check_settings', 'scan_config', 'scan_dataset', 'unique_reports',
    'use_safe_loading', 'BadDataError', 'SafeLoadImageFromFile'
]
