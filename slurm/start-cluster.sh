#!/usr/bin/env bash
# Start a real, single-host SLURM cluster (slurmctld + slurmd + slurmdbd with
# MariaDB accounting) on this machine, for seqjobs' tests and demos.
#
# Run as root; no systemd needed. Idempotent: daemons that are already up are
# left alone, so running it twice just reports. If the generated configs
# changed (e.g. another SEQJOBS_SLURM_MAX_ARRAY_SIZE), the affected daemons
# are restarted.
#
# Environment (see slurm/README.md):
#   SEQJOBS_SLURM_STATE           state/log dir       [/var/lib/seqjobs-slurm]
#   SEQJOBS_SLURM_MAX_ARRAY_SIZE  slurm MaxArraySize  [16]
#   SEQJOBS_SLURM_DB_PORT         private MariaDB TCP port on 127.0.0.1 [3307]
#   SEQJOBS_SLURM_PREEMPT_GRACE   GraceTime (s) of preempted cpu/gpu jobs [30]
#   SEQJOBS_SLURM_LIMITED_MAX_SUBMIT  MaxSubmitJobsPerUser of QOS seqjobs-limited [12]
#   SEQJOBS_SLURM_TIMEOUT         seconds to wait for each daemon [90]
#   SEQJOBS_SLURM_FORCE=1         overwrite /etc/slurm configs not written here
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

started_at=$SECONDS
require_root
[[ $MAX_ARRAY_SIZE =~ ^[0-9]+$ ]] && ((MAX_ARRAY_SIZE >= 1)) ||
    die "SEQJOBS_SLURM_MAX_ARRAY_SIZE must be a positive integer (got '$MAX_ARRAY_SIZE')"
[[ $DB_PORT =~ ^[0-9]+$ ]] || die "SEQJOBS_SLURM_DB_PORT must be a port number (got '$DB_PORT')"
[[ $LIMITED_MAX_SUBMIT =~ ^[0-9]+$ ]] && ((LIMITED_MAX_SUBMIT >= 1)) ||
    die "SEQJOBS_SLURM_LIMITED_MAX_SUBMIT must be a positive integer (got '$LIMITED_MAX_SUBMIT')"
[[ $PREEMPT_GRACE =~ ^[0-9]+$ ]] || die "SEQJOBS_SLURM_PREEMPT_GRACE must be a number of seconds (got '$PREEMPT_GRACE')"

take_lock

# --- 1. packages ---------------------------------------------------------------
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server mariadb-client)
missing=()
for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Without systemd, the packages' postinst scripts would try (and fail) to
    # start the daemons; a policy-rc.d that exits 101 tells them not to.
    created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\n# Temporary, from seqjobs slurm/start-cluster.sh: do not start daemons on install.\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    # A fresh machine may have no package lists yet; stale lists make the
    # install fail, so update and retry once in that case.
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        apt-get update
    fi
    if ! apt-get install -y "${missing[@]}"; then
        log "install failed; refreshing package lists and retrying"
        apt-get update
        apt-get install -y "${missing[@]}"
    fi
    if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi
for u in munge slurm mysql; do
    id "$u" >/dev/null 2>&1 || die "system user '$u' is missing (the Debian packages create it)"
done

# --- 2. directories, munge key, GPU stand-ins --------------------------------------
install -d -m 0755 "$STATE" "$LOG_DIR" "$SLURMD_DIR" "$SLURMD_DIR/spool" "$GPU_DIR"
install -d -o munge -g munge -m 0700 "$MUNGE_DIR"
install -d -o mysql -g mysql -m 0750 "$DB_DIR"
install -d -o slurm -g slurm -m 0755 "$CTLD_DIR" "$CTLD_DIR/state"
install -d -o slurm -g slurm -m 0700 "$DBD_DIR"
install -d -m 0755 "$CONF_DIR"
# Log files are pre-created with the owner of the daemon that appends to them
# (the log dir itself stays root-owned: munged refuses writable log dirs).
for f in munged:munge slurmctld:slurm slurmdbd:slurm mariadbd:mysql slurmd:root; do
    touch "$LOG_DIR/${f%%:*}.log"
    chown "${f#*:}:" "$LOG_DIR/${f%%:*}.log"
done

if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key /etc/munge/munge.key"
    install -d -o munge -g munge -m 0700 /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0600 /etc/munge/munge.key
fi

# Two "GPUs": slurmd only needs character devices to hand out; these are
# /dev/null's numbers (plain files are refused: "not a valid character device").
for i in 0 1; do
    [[ -c $GPU_DIR/nvidia$i ]] || { rm -f "$GPU_DIR/nvidia$i"; mknod -m 0666 "$GPU_DIR/nvidia$i" c 1 3; }
done

# --- 3. configs ------------------------------------------------------------------
# Node layout exactly as slurmd detects it (else "Node reconfigured
# socket/core boundaries"), with RealMemory a little under the OS figure.
read -r -a detected < <(slurmd -C | head -n 1)
NODE= NODE_LINE=()
for kv in "${detected[@]}"; do
    case $kv in
    NodeName=*) NODE=${kv#NodeName=} ;;
    RealMemory=*) NODE_LINE+=("RealMemory=$((${kv#RealMemory=} * 95 / 100))") ;;
    *) NODE_LINE+=("$kv") ;;
    esac
done
[[ -n $NODE ]] || die "could not read the node layout from 'slurmd -C'"

DB_PASS=
if [[ -s $DB_PASS_FILE ]]; then
    DB_PASS=$(<"$DB_PASS_FILE")
else
    DB_PASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$DB_PASS" >"$DB_PASS_FILE")
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/slurm.conf" <<EOF
$MARKER (state in $STATE).
# Single-host test cluster: every partition is the same node.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
# A requeued job may only restart after cred_expire+1 s (default 120 s).
# Read only when slurmctld starts, not by 'scontrol reconfigure'.
AuthInfo=cred_expire=10
CredType=cred/munge
MailProg=/bin/true
MpiDefault=none

StateSaveLocation=$CTLD_DIR/state
SlurmdSpoolDir=$SLURMD_DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups needed (works in containers).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30

SchedulerType=sched/backfill
# Schedule every 2 s (fast requeue/restart in tests).
SchedulerParameters=sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default every job takes all the node's memory: one job at a time.
DefMemPerCPU=1024
# Deliberately small, so tests see sweeps split into several arrays.
# (Array indices must be below it: --array=0-$((MAX_ARRAY_SIZE - 1)) is the largest.)
MaxArraySize=$MAX_ARRAY_SIZE
ReturnToService=2
JobRequeue=1
# Seconds between SIGTERM and SIGKILL (cancel, time limit, end of GraceTime);
# shorter than the default 30 so tests do not wait on stubborn jobs.
KillWait=10

# Jobs in the higher-PriorityTier partition 'urgent' requeue the jobs of the
# others; preempt_send_user_signal sends the job's --signal (submitit: USR2,
# so Checkpointable jobs checkpoint) at preemption time. On 22.05 this lives in
# SlurmctldParameters ('PreemptParameters=' is a fatal parse error).
# The preempted partitions have a GraceTime: the job keeps running (and is
# signalled) for up to that long, so submitit can checkpoint and run its own
# 'scontrol requeue'. With GraceTime=0 slurm requeues at once, submitit's
# 'scontrol requeue' fails ("Job is pending execution"), and job.result()
# raises that CalledProcessError although the job later resumes fine.
# The flip side: a job that exits by itself during GraceTime is COMPLETED,
# not requeued (it must requeue itself, as submitit does), and a job that
# ignores the signal holds the urgent job back for GraceTime + KillWait.
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal

AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStorageTRES=gres/gpu
# Enforce association and QOS limits (read only at slurmctld start): QOS
# $LIMITED_QOS caps queued jobs per user. Jobs that do not ask for it get the
# QOS normal, which sets no limit.
AccountingStorageEnforce=associations,limits,qos
JobCompType=jobcomp/none

GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 ${NODE_LINE[*]} Gres=gpu:2 State=UNKNOWN
# DefaultTime (minutes) is what a job gets without --time; seqjobs reads it
# with sinfo (submitit alone would write a 5-minute limit). 'nolimit' has
# neither a DefaultTime nor a MaxTime: seqjobs must ask for --time there.
PartitionName=cpu Nodes=$NODE Default=YES DefaultTime=60 MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=$PREEMPT_GRACE
PartitionName=gpu Nodes=$NODE Default=NO DefaultTime=120 MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=$PREEMPT_GRACE
PartitionName=urgent Nodes=$NODE Default=NO DefaultTime=10 MaxTime=INFINITE State=UP PriorityTier=100
PartitionName=nolimit Nodes=$NODE Default=NO MaxTime=UNLIMITED State=UP PriorityTier=1 GraceTime=$PREEMPT_GRACE
EOF

cat >"$tmp/gres.conf" <<EOF
$MARKER
# Two GPU stand-ins (character devices), so gpu jobs schedule without GPUs.
AutoDetect=off
NodeName=$NODE Name=gpu File=$GPU_DIR/nvidia[0-1]
EOF

cat >"$tmp/slurmdbd.conf" <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$LOG_DIR/slurmdbd.log
PidFile=$DBD_PID
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF

cat >"$tmp/my.cnf" <<EOF
$MARKER
# Private MariaDB for slurmdbd only: own data dir, socket and port.
# (slurmdbd logs "Database settings not recommended values:
# innodb_buffer_pool_size": harmless at this size; the default 128M is kept.)
[mysqld]
datadir=$DB_DIR/data
socket=$DB_SOCK
pid-file=$DB_PID
log-error=$LOG_DIR/mariadbd.log
port=$DB_PORT
bind-address=127.0.0.1
skip-name-resolve
innodb_lock_wait_timeout=900
[client]
socket=$DB_SOCK
EOF

# install_conf SRC DEST OWNER MODE: install if different; returns 0 if changed.
install_conf() {
    local src=$1 dest=$2 owner=$3 mode=$4
    if [[ -e $dest ]] && cmp -s "$src" "$dest"; then
        chown "$owner" "$dest"
        chmod "$mode" "$dest"
        return 1
    fi
    if [[ -e $dest ]] && ! grep -qF "$MARKER" "$dest"; then
        [[ ${SEQJOBS_SLURM_FORCE:-0} == 1 ]] ||
            die "$dest exists and was not written by this script; set SEQJOBS_SLURM_FORCE=1 to replace it (a copy is kept as $dest.seqjobs-backup)"
        cp -p "$dest" "$dest.seqjobs-backup"
    fi
    install -o "${owner%:*}" -g "${owner#*:}" -m "$mode" "$src" "$dest"
    log "wrote $dest"
    return 0
}

slurm_changed=0 dbd_changed=0 db_changed=0
install_conf "$tmp/slurm.conf" "$CONF_DIR/slurm.conf" root:root 0644 && slurm_changed=1
install_conf "$tmp/gres.conf" "$CONF_DIR/gres.conf" root:root 0644 && slurm_changed=1
# slurmdbd insists that its config (with the DB password) is private to SlurmUser.
install_conf "$tmp/slurmdbd.conf" "$CONF_DIR/slurmdbd.conf" slurm:slurm 0600 && dbd_changed=1
install_conf "$tmp/my.cnf" "$DB_CNF" root:root 0644 && db_changed=1

# Daemons running with an older config: restart them below.
if ((slurm_changed)); then
    if is_running slurmd "$SLURMD_PID" || is_running slurmctld "$CTLD_PID"; then
        log "slurm.conf/gres.conf changed: restarting slurmctld and slurmd"
        stop_daemons slurmd "$SLURMD_PID" slurmctld "$CTLD_PID"
    fi
fi
if ((dbd_changed || db_changed)) && is_running slurmdbd "$DBD_PID"; then
    log "slurmdbd.conf or my.cnf changed: restarting slurmdbd"
    stop_daemons slurmdbd "$DBD_PID"
fi
if ((db_changed)) && is_running mariadbd "$DB_PID"; then
    log "my.cnf changed: restarting mariadbd"
    stop_daemons mariadbd "$DB_PID"
fi

# --- 4. daemons ------------------------------------------------------------------
start_munged

if [[ ! -d $DB_DIR/data/mysql ]]; then
    log "initialising MariaDB data dir $DB_DIR/data"
    rm -rf "$DB_DIR/data"
    mariadb-install-db --defaults-file="$DB_CNF" --user=mysql --skip-test-db \
        >>"$LOG_DIR/mariadb-install-db.log" 2>&1 9>&- ||
        { show_log "$LOG_DIR/mariadb-install-db.log"; die "mariadb-install-db failed"; }
fi
start_mariadb
# (Re)create slurmdbd's DB user; root logs in through the unix socket as OS root.
mariadb --defaults-file="$DB_CNF" --user=root <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF

start_slurmdbd

# Register the cluster, an account and the calling user (so sacct works).
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
    log "accounting: added cluster $CLUSTER"
fi
if ! sacctmgr -n -P list account format=account | grep -qx seqjobs; then
    sacctmgr -i add account seqjobs Cluster="$CLUSTER" Description=seqjobs Organization=seqjobs >/dev/null
    log "accounting: added account seqjobs"
fi
user=${SUDO_USER:-root}
if ! sacctmgr -n -P list assoc cluster="$CLUSTER" account=seqjobs user="$user" format=user | grep -qx "$user"; then
    sacctmgr -i add user "$user" Account=seqjobs Cluster="$CLUSTER" >/dev/null
    log "accounting: added user $user to account seqjobs"
fi

# QOS $LIMITED_QOS (MaxSubmitJobsPerUser, every array task counting), allowed
# to the user; the tests of submission within a job limit select it with --qos.
if ! sacctmgr -n -P show qos format=name | grep -qx "$LIMITED_QOS"; then
    sacctmgr -i add qos "$LIMITED_QOS" >/dev/null
    log "accounting: added QOS $LIMITED_QOS"
fi
if [[ $(sacctmgr -n -P show qos where name="$LIMITED_QOS" format=MaxSubmitPU) != "$LIMITED_MAX_SUBMIT" ]]; then
    sacctmgr -i modify qos "$LIMITED_QOS" set MaxSubmitJobsPerUser="$LIMITED_MAX_SUBMIT" >/dev/null
    log "accounting: QOS $LIMITED_QOS allows $LIMITED_MAX_SUBMIT queued jobs per user"
fi
if sacctmgr -n -P show assoc user="$user" format=qos | grep -qvw "$LIMITED_QOS"; then
    sacctmgr -i modify user "$user" set qos+="$LIMITED_QOS" defaultqos=normal >/dev/null
    log "accounting: user $user may use QOS $LIMITED_QOS"
fi

if pid=$(pid_of slurmctld "$CTLD_PID"); then
    log "slurmctld: already running (pid $pid)"
else
    log "slurmctld: starting"
    /usr/sbin/slurmctld 9>&- || { show_log "$LOG_DIR/slurmctld.log"; die "slurmctld failed to start"; }
    wait_for "slurmctld to answer 'scontrol ping'" "$TIMEOUT" ctld_ok ||
        { show_log "$LOG_DIR/slurmctld.log"; die "slurmctld does not answer"; }
fi

if pid=$(pid_of slurmd "$SLURMD_PID"); then
    log "slurmd: already running (pid $pid)"
else
    log "slurmd: starting"
    /usr/sbin/slurmd 9>&- || { show_log "$LOG_DIR/slurmd.log"; die "slurmd failed to start"; }
fi

# --- 5. wait for the node ---------------------------------------------------------
# A node state without a suffix (no '*' = not responding, '~' = powered off...)
# means slurmd has registered. A node left drained/down by an earlier run
# (e.g. "Kill task failed") is resumed once.
log "waiting for node $NODE to become available (up to ${TIMEOUT}s)"
resumed=0
deadline=$((SECONDS + TIMEOUT))
while :; do
    state=$(sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -n 1 || true)
    case $state in
    idle | mix | alloc | comp) break ;;
    drain | drng | down | fail | failg | inval)
        if ((!resumed)); then
            log "node $NODE is $state ($(sinfo -h -N -n "$NODE" -o '%E' | head -n 1)); resuming it"
            scontrol update NodeName="$NODE" State=RESUME || true
            resumed=1
        fi
        ;;
    esac
    if ((SECONDS >= deadline)); then
        show_log "$LOG_DIR/slurmd.log"
        show_log "$LOG_DIR/slurmctld.log"
        sinfo -N -l >&2 || true
        die "node $NODE did not become idle within ${TIMEOUT}s (state: '${state:-none}')"
    fi
    sleep 0.3
done

log "cluster '$CLUSTER' is up after $((SECONDS - started_at))s; state and logs in $STATE"
sinfo
