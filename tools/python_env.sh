# Sourced by the launch scripts in tools/: the Python to run (PYTHON, else the
# project's .venv/bin/python when `make setup` made one, else `python`) and the
# clone on PYTHONPATH, so that the tools import this checkout's mmconvmlp.
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$TOOLS_DIR")"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_DIR/.venv/bin/python" ]; then
        PYTHON="$REPO_DIR/.venv/bin/python"
    else
        PYTHON=python
    fi
fi
export PYTHONPATH="$REPO_DIR${PYTHONPATH:+:$PYTHONPATH}"
