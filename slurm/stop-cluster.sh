#!/usr/bin/env bash
# Stop the single-host SLURM cluster started by start-cluster.sh: slurmd and
# slurmctld, then slurmdbd, then mariadbd and munged, each by the PID in
# its PID file (never by name), waiting until each has exited. Idempotent.
#
# Jobs still running keep running (their slurmstepd processes are not
# daemons of ours); slurmd picks them up again on the next start. Cancel them
# first (scancel) if you want a clean slate; slurmctld keeps its job state in
# $SEQJOBS_SLURM_STATE/slurmctld/state across restarts.
#
# Environment: SEQJOBS_SLURM_STATE, SEQJOBS_SLURM_TIMEOUT (see README.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

require_root
if [[ ! -d $STATE ]]; then
    log "no state dir $STATE: nothing to stop"
    exit 0
fi
take_lock

# slurmctld before slurmdbd (it sends its last accounting records), slurmdbd
# before its database and munged.
stop_daemons slurmd "$SLURMD_PID" slurmctld "$CTLD_PID"
stop_daemons slurmdbd "$DBD_PID"
stop_daemons mariadbd "$DB_PID" munged "$MUNGE_PID"
log "cluster stopped"
