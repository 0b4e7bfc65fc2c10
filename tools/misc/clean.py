# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Remove what the project wrote under some folders (``make clean``).

    python tools/misc/clean.py work_dirs data/demo data/nuclei

The files the manifests (``.mmconvmlp-written.json``) list go, and the
folders left empty; every other file stays, and is named. Standard library
only (it runs before the set-up, too).
"""
import argparse
import importlib.util
import os.path as osp
import sys

# mmconvmlp/utils/outputs.py alone: importing the package would need torch.
_SPEC = importlib.util.spec_from_file_location(
    '_mmconvmlp_outputs',
    osp.abspath(osp.join(__file__, '../../../mmconvmlp/utils/outputs.py')))
outputs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(outputs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Remove the files the project wrote (by its manifests) '
        'under each folder; keep and name the others.')
    parser.add_argument('folders', nargs='+')
    args = parser.parse_args(argv)
    try:
        for folder in args.folders:
            left = outputs.remove_written(folder)
            if left:
                print(f'{folder}: kept {outputs._named(left, folder)}, which '
                      'mmconvmlp did not write')
    except outputs.OutputError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
