#!/usr/bin/env bash
# Creates ./.venv with torch, mmcv (compiled ops), mmengine, mmdet, mmsegmentation
# and mmconvmlp (editable). Safe to run again: a finished environment is only checked.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
STAMP="$VENV/.mmconvmlp-setup"
# The stamp records the inputs of the install, so editing them triggers a reinstall.
WANT=$(cat "$0" setup.py tools/constraints.txt | sha1sum | cut -c1-40)

check() {
    "$VENV/bin/python" - <<'PY'
import sys
problems = []
try:
    import mmcv.ops  # noqa: F401  (needs the compiled extension mmcv._ext)
except Exception as e:  # noqa: BLE001
    problems.append(f'mmcv.ops does not import ({e}). mmcv was built without its ops: '
                    'reinstall it with `pip install --no-build-isolation --no-cache-dir '
                    'mmcv==2.1.0` after torch is installed.')
for mod in ('mmdet', 'mmseg', 'onnxruntime', 'mmconvmlp'):
    try:
        __import__(mod)
    except Exception as e:  # noqa: BLE001
        problems.append(f'{mod} does not import: {e}')
if problems:
    print('set-up check failed:\n  ' + '\n  '.join(problems), file=sys.stderr)
    sys.exit(1)
import torch, mmcv, mmengine, mmdet, mmseg
print(f'environment ready: torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmseg {mmseg.__version__}')
PY
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && check; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
PIPI="$PIP install -q -c tools/constraints.txt"
echo "[setup] build tools"
# mmcv's setup.py and mmengine's config inheritance import pkg_resources (removed in setuptools 82).
$PIPI "setuptools<82" wheel ninja
echo "[setup] torch ($TORCH_SPEC)"
$PIPI "$TORCH_SPEC"
echo "[setup] mmengine"
$PIPI "mmengine==0.10.7"
if ! "$VENV/bin/python" -c "import mmcv.ops" 2>/dev/null; then
    echo "[setup] mmcv 2.1.0 with compiled ops (first build takes about 15 min on 2 cores)"
    # Without --no-build-isolation the build cannot see torch and silently skips the ops.
    MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIPI --no-build-isolation "mmcv==2.1.0"
fi
echo "[setup] mmdet, mmsegmentation, onnx, onnxruntime, mmconvmlp"
$PIPI --no-build-isolation -e ".[all,deploy]"
echo "[setup] stardist 0.9.2 wheel (only its example nuclei data; nothing of it is imported)"
$PIPI --no-deps stardist==0.9.2
check
echo "$WANT" > "$STAMP"
