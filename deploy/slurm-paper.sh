#!/bin/bash
# The paper profile as a Slurm job array of 32 shards (docs/CLUSTER.md).
# Submit from the repository root, after `make build`; tune once first, so
# that the shards do not each tune the methods they hold:
#
#   tid=$(sbatch --parsable --cpus-per-task=2 --mem=12G \
#          --wrap 'bin/sleepbench run -profile paper -tune-only -out out/paper/tune')
#   jid=$(sbatch --parsable --dependency=afterok:$tid --kill-on-invalid-dep=yes \
#          --export=ALL,TUNE_FROM=out/paper/tune deploy/slurm-paper.sh)
#   sbatch --dependency=afterok:$jid --kill-on-invalid-dep=yes \
#          --wrap 'bin/sleepbench merge -out out/paper/merged out/paper/shard-*'
#
# Without TUNE_FROM each shard tunes what it holds itself.
#
# Each task reads its shard from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN
# and SLURM_ARRAY_TASK_COUNT: keep --array=0-N contiguous. A requeued or
# resubmitted task skips the runs it finished. --mem: gpt2-medium peaks at
# 10,162 MB (docs/CLUSTER.md). mkdir -p out/paper first: Slurm creates no
# folder for --output.
#SBATCH --job-name=sleepbench-paper
#SBATCH --array=0-31
#SBATCH --cpus-per-task=2
#SBATCH --mem=12G
#SBATCH --requeue
#SBATCH --output=out/paper/slurm-%A_%a.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
exec bin/sleepbench run -profile paper -jobs 1 ${TUNE_FROM:+-tune-from "$TUNE_FROM"} \
	-out "out/paper/shard-$SLURM_ARRAY_TASK_ID"
