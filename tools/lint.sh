#!/usr/bin/env bash
# Style checks of the Python sources with the settings in setup.cfg:
#   flake8, isort --check-only --diff, yapf --diff, and plain-text checks
#   (trailing whitespace, final newline, CRLF) of the tracked files.
# Nothing is rewritten; every check runs and the exit status is 1 if any failed.
#   tools/lint.sh          check
#   tools/lint.sh --fix    rewrite the sources with isort and yapf instead
# The checkers are the releases pinned in requirements/lint.txt; they are installed
# into .venv (created when missing, without the rest of the set-up) when absent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PATHS=(mmconvmlp tools tests configs setup.py)

if [ ! -x "$PY" ]; then
    echo "[lint] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# Install only when a pinned release is missing, so a ready environment needs no network.
if ! "$PY" - requirements/lint.txt <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

with open(sys.argv[1]) as f:
    pins = [line.split('#')[0].strip() for line in f]
for pin in filter(None, pins):
    name, want = pin.split('==')
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
    echo "[lint] installing $(grep -v '^#' requirements/lint.txt | xargs)"
    "$PY" -m pip install -q -r requirements/lint.txt
fi

if [ "${1:-}" = "--fix" ]; then
    "$PY" -m isort "${PATHS[@]}"
    "$PY" -m yapf --in-place --recursive "${PATHS[@]}"
    exit 0
fi

failed=()
echo "[lint] flake8"
"$PY" -m flake8 "${PATHS[@]}" || failed+=(flake8)
echo "[lint] isort"
"$PY" -m isort --check-only --diff "${PATHS[@]}" || failed+=(isort)
echo "[lint] yapf"
"$PY" -m yapf --diff --recursive "${PATHS[@]}" || failed+=(yapf)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "[lint] whitespace, final newline, line endings"
    text=0
    if git grep -nI '[[:blank:]]$'; then
        echo "trailing whitespace on the lines above"; text=1
    fi
    if git grep -lI $'\r'; then
        echo "CRLF line endings in the files above"; text=1
    fi
    while IFS= read -r -d '' f; do
        # text files only (grep -I skips binary ones such as tests/data/*.npz)
        if [ -s "$f" ] && grep -qI . "$f" && [ -n "$(tail -c 1 "$f")" ]; then
            echo "$f: no newline at the end"; text=1
        fi
    done < <(git ls-files -z)
    [ "$text" = 0 ] || failed+=(text)
fi

if [ ${#failed[@]} -gt 0 ]; then
    echo "[lint] failed: ${failed[*]} (tools/lint.sh --fix rewrites what isort and yapf can)"
    exit 1
fi
echo "[lint] all checks passed"
