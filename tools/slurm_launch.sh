# Sourced by tools/slurm_train.sh and tools/slurm_test.sh (the OpenMMLab
# convention): `srun_tool PARTITION JOB_NAME TOOL ARGS...` runs tools/TOOL with
# ARGS as one Slurm task per GPU. GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5)
# and SRUN_ARGS (extra srun options, split into words) come from the environment.
source "$(dirname "${BASH_SOURCE[0]}")/python_env.sh"

srun_tool() {
    local partition=$1 job_name=$2 tool=$3
    shift 3
    # shellcheck disable=SC2086  # SRUN_ARGS may hold several options
    srun -p "$partition" \
        --job-name="$job_name" \
        --gres=gpu:"${GPUS_PER_NODE:-8}" \
        --ntasks="${GPUS:-8}" \
        --ntasks-per-node="${GPUS_PER_NODE:-8}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" \
        --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} \
        "$PYTHON" -u "$TOOLS_DIR/$tool" "$@"
}
