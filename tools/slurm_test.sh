#!/usr/bin/env bash
# Testing on a Slurm cluster, one task per GPU (the OpenMMLab convention):
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
# Python: $PYTHON, else the clone's .venv/bin/python, else python.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py options]" >&2
    exit 2
fi
source "$(dirname "$0")/slurm_launch.sh"
srun_tool "$1" "$2" test.py "$3" "$4" --launcher="slurm" "${@:5}"
