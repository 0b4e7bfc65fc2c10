#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU (the OpenMMLab convention):
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
# e.g. GPUS=16 tools/slurm_train.sh dev convmlp configs/retinanet_convmlp_s_coco.py
#      work_dirs/retinanet_s --amp
# Python: $PYTHON, else the clone's .venv/bin/python, else python.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py options]" >&2
    exit 2
fi
source "$(dirname "$0")/slurm_launch.sh"
srun_tool "$1" "$2" train.py "$3" --work-dir="$4" --launcher="slurm" "${@:5}"
