#!/usr/bin/env bash
# Stop only slurmdbd (accounting): afterwards sacct fails, while sinfo, squeue,
# sbatch and scancel keep working. slurmctld queues its accounting records
# until slurmdbd is back (start-slurmdbd.sh). Used by tests that check that
# job status falls back to squeue when sacct is unavailable.
#
# Environment: SEQJOBS_SLURM_STATE, SEQJOBS_SLURM_TIMEOUT (see README.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

require_root
take_lock
stop_daemons slurmdbd "$DBD_PID"
