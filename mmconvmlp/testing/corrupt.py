# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Ways to break a dataset, as real datasets break: for the tests of the
data checks (:mod:`mmconvmlp.datasets`)."""
import json
from typing import Callable


def truncate(path: str, keep: float = 0.5) -> None:
    """Cut a file short, as an interrupted copy does.

    Args:
        path (str): The file, rewritten in place.
        keep (float): Share of its bytes that remain. Defaults to 0.5.
    """
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


def edit_json(path: str, edit: Callable[[dict], None]) -> None:
    """Load a JSON file, let ``edit`` change the object in place, and write
    it back.

    Args:
        path (str): The file, e.g. a COCO annotation file.
        edit (Callable[[dict], None]): Changes the loaded object.
    """
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)
