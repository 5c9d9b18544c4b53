#!/usr/bin/env bash
# Start slurmdbd again after stop-slurmdbd.sh (and munged/MariaDB if they are
# down), then wait until sacct answers and, best effort, until slurmctld has
# sent the accounting records it queued while slurmdbd was away.
# Needs a cluster set up once by start-cluster.sh.
#
# Environment: SEQJOBS_SLURM_STATE, SEQJOBS_SLURM_TIMEOUT (see README.md).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

require_root
[[ -r $CONF_DIR/slurmdbd.conf && -r $DB_CNF ]] ||
    die "no cluster set up under $STATE; run start-cluster.sh first"
take_lock

start_munged
start_mariadb
start_slurmdbd
wait_for "sacct to answer" "$TIMEOUT" sacct_ok ||
    { show_log "$LOG_DIR/slurmdbd.log"; die "sacct does not answer"; }

# slurmctld reconnects on its own and then flushes its queue of job records;
# until then sacct may not know about jobs that changed state meanwhile.
dbd_queue_empty() {
    sdiag | grep -Eq 'DBD Agent queue size: *0$'
}
if ctld_ok 2>/dev/null; then
    wait_for "slurmctld to flush its accounting queue" "$TIMEOUT" dbd_queue_empty ||
        log "warning: slurmctld has not flushed its accounting queue yet (see: sdiag)"
fi
log "slurmdbd is up; sacct answers"
