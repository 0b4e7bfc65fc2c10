# Copyright (c) mmconvmlp contributors. Licensed under the MIT licence.
"""Untrusted checkpoints for the tests of safe loading: a hostile file and a
local web server that serves it.

The hostile file is a plausible MMEngine checkpoint whose unpickling would
run a shell command (``__reduce__`` -> ``os.system``) that creates a marker
file; a test that finds no marker afterwards shows that nothing ran.
"""
import contextlib
import functools
import http.server
import os
import shlex
import threading
from typing import Iterator

import torch


class _RunsCommand:
    """Unpickling this object runs ``command`` in a shell."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def write_hostile_checkpoint(path: str, marker: str) -> str:
    """Write a checkpoint whose unpickling creates the file ``marker``.

    Args:
        path (str): Where to write it.
        marker (str): The file the hidden command creates.

    Returns:
        str: ``path``.
    """
    torch.save(
        dict(
            meta=dict(epoch=1, iter=2),
            state_dict={'backbone.stem.0.conv.weight': torch.zeros(1)},
            payload=_RunsCommand(f'touch {shlex.quote(marker)}')), path)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@contextlib.contextmanager
def serve_directory(root: str) -> Iterator[str]:
    """Serve the files of ``root`` over http on 127.0.0.1 (a free port) in a
    background thread.

    Args:
        root (str): The folder to serve.

    Yields:
        str: The base URL, e.g. ``'http://127.0.0.1:43121'``.
    """
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
