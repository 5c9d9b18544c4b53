# Shared settings and helpers for the single-host SLURM scripts in this folder.
# Sourced (not run) by start-cluster.sh, stop-cluster.sh, start-slurmdbd.sh and
# stop-slurmdbd.sh. Everything the cluster writes lives under one state
# directory; only the configs go to /etc/slurm, where the client tools
# (sinfo, sbatch, sacct, ...) look for them.

# --- settings (environment variables the scripts honour) --------------------
STATE=${SEQJOBS_SLURM_STATE:-/var/lib/seqjobs-slurm}
MAX_ARRAY_SIZE=${SEQJOBS_SLURM_MAX_ARRAY_SIZE:-16}
DB_PORT=${SEQJOBS_SLURM_DB_PORT:-3307}        # private MariaDB, 127.0.0.1 only
PREEMPT_GRACE=${SEQJOBS_SLURM_PREEMPT_GRACE:-30} # GraceTime of preempted jobs
LIMITED_MAX_SUBMIT=${SEQJOBS_SLURM_LIMITED_MAX_SUBMIT:-12} # MaxSubmitJobsPerUser of QOS seqjobs-limited
TIMEOUT=${SEQJOBS_SLURM_TIMEOUT:-90}          # seconds to wait for each step

CLUSTER=seqjobs
# A QOS that caps each user's queued jobs; only jobs that ask for it (--qos) are capped.
LIMITED_QOS=seqjobs-limited
CONF_DIR=/etc/slurm
# Marker written into every config file we own: we never overwrite a
# slurm.conf that somebody else wrote (unless SEQJOBS_SLURM_FORCE=1).
MARKER="# Written by seqjobs slurm/start-cluster.sh"

LOG_DIR=$STATE/log
MUNGE_DIR=$STATE/munge          # owner munge
DB_DIR=$STATE/mariadb           # owner mysql
CTLD_DIR=$STATE/slurmctld       # owner slurm (StateSaveLocation inside)
DBD_DIR=$STATE/slurmdbd         # owner slurm
SLURMD_DIR=$STATE/slurmd        # owner root (SlurmdSpoolDir inside)
GPU_DIR=$STATE/gpu              # character-device stand-ins for 2 GPUs

MUNGE_PID=$MUNGE_DIR/munged.pid
DB_PID=$DB_DIR/mariadbd.pid
DB_SOCK=$DB_DIR/mariadbd.sock
DB_CNF=$DB_DIR/my.cnf
DB_PASS_FILE=$DB_DIR/slurm-db-password
CTLD_PID=$CTLD_DIR/slurmctld.pid
DBD_PID=$DBD_DIR/slurmdbd.pid
SLURMD_PID=$SLURMD_DIR/slurmd.pid

# --- messages ----------------------------------------------------------------
log() { printf '[seqjobs-slurm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[seqjobs-slurm] ERROR: %s\n' "$*" >&2; exit 1; }

# Print the end of a log file to stderr (used when a daemon fails to start).
show_log() {
    local file=$1
    if [[ -s $file ]]; then
        printf -- '----- last lines of %s -----\n' "$file" >&2
        tail -n 25 "$file" >&2
        printf -- '-----\n' >&2
    fi
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it starts system daemons); try: sudo $0"
}

# Serialise concurrent invocations (e.g. parallel test sessions) on one lock,
# held on fd 9. Daemons must be started with "9>&-", or they would inherit the
# lock and hold it forever.
take_lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    # Generous: the holder may be installing packages.
    flock -w 600 9 || die "another seqjobs-slurm script has held $STATE/.lock for 10 minutes"
}

# --- processes, found only through their PID files ---------------------------
# still_there PID NAME: the process exists, is not a zombie, and is NAME.
# (Zombies matter: PID 1 in a container may be slow to reap exited daemons.)
still_there() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat == "$1 ($2) "* && $stat != "$1 ($2) Z"* ]]
}

# pid_of NAME PIDFILE: print the PID if PIDFILE names a live process whose
# command name is NAME (guards against stale files and reused PIDs).
pid_of() {
    local name=$1 file=$2 pid
    [[ -r $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid ]] && still_there "$pid" "$name" || return 1
    echo "$pid"
}

is_running() { pid_of "$1" "$2" >/dev/null; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND until it succeeds.
wait_for() {
    local what=$1 secs=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            printf '[seqjobs-slurm] ERROR: timed out after %ss waiting for %s\n' "$secs" "$what" >&2
            return 1
        fi
        sleep 0.2
    done
}

# stop_daemons NAME PIDFILE [NAME PIDFILE ...]: SIGTERM each process named in
# a PIDFILE, then wait until all have exited; SIGKILL any that are still there
# after $TIMEOUT seconds. (Daemons that do not depend on each other are
# stopped together: each takes about 2 s to shut down.)
stop_daemons() {
    local names=() pids=() files=() name file pid i
    while (($#)); do
        name=$1 file=$2
        shift 2
        if pid=$(pid_of "$name" "$file"); then
            log "$name: stopping (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name") pids+=("$pid") files+=("$file")
        else
            log "$name: not running"
            rm -f "$file"
        fi
    done
    for i in "${!pids[@]}"; do
        name=${names[i]} pid=${pids[i]}
        local deadline=$((SECONDS + TIMEOUT))
        while still_there "$pid" "$name"; do
            if ((SECONDS >= deadline)); then
                log "$name: still alive after ${TIMEOUT}s, sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                deadline=$((SECONDS + 10))
                while still_there "$pid" "$name"; do
                    ((SECONDS < deadline)) || die "$name (pid $pid) survived SIGKILL"
                    sleep 0.1
                done
                break
            fi
            sleep 0.1
        done
        rm -f "${files[i]}"
        log "$name: stopped"
    done
}

# --- probes ------------------------------------------------------------------
munge_ok() { munge -n </dev/null | unmunge >/dev/null; }
db_ok() { mariadb-admin --defaults-file="$DB_CNF" --user=root ping; }
dbd_ok() { sacctmgr -n -P list cluster format=cluster; }
sacct_ok() { sacct -n -X -S now-1minutes -o JobID; }
ctld_ok() { scontrol ping | grep -q 'is UP'; }

# --- daemons shared by start-cluster.sh and start-slurmdbd.sh ---------------
start_munged() {
    local pid
    if pid=$(pid_of munged "$MUNGE_PID"); then
        log "munged: already running (pid $pid)"
        return 0
    fi
    if munge_ok 2>/dev/null; then
        # Someone else's munged answers on the standard socket: use it.
        log "munged: a munged not started by these scripts is answering; using it"
        return 0
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    log "munged: starting"
    # munged refuses to run as root; it forks into the background itself.
    runuser -u munge -- /usr/sbin/munged \
        --pid-file="$MUNGE_PID" --log-file="$LOG_DIR/munged.log" 9>&- ||
        { show_log "$LOG_DIR/munged.log"; die "munged failed to start"; }
    wait_for "munged to answer" "$TIMEOUT" munge_ok ||
        { show_log "$LOG_DIR/munged.log"; die "munged does not answer"; }
}

start_mariadb() {
    local pid
    if pid=$(pid_of mariadbd "$DB_PID"); then
        log "mariadbd: already running (pid $pid)"
        return 0
    fi
    [[ -d $DB_DIR/data/mysql ]] || die "MariaDB data dir $DB_DIR/data is not initialised; run start-cluster.sh"
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    log "mariadbd: starting (127.0.0.1:$DB_PORT, data in $DB_DIR/data)"
    # mariadbd does not daemonize: detach it from this shell and its terminal.
    setsid /usr/sbin/mariadbd --defaults-file="$DB_CNF" --user=mysql \
        </dev/null >>"$LOG_DIR/mariadbd.log" 2>&1 9>&- &
    wait_for "mariadbd to answer" "$TIMEOUT" db_ok ||
        { show_log "$LOG_DIR/mariadbd.log"; die "mariadbd did not come up"; }
}

start_slurmdbd() {
    local pid
    if pid=$(pid_of slurmdbd "$DBD_PID"); then
        log "slurmdbd: already running (pid $pid)"
        return 0
    fi
    log "slurmdbd: starting"
    /usr/sbin/slurmdbd 9>&- ||
        { show_log "$LOG_DIR/slurmdbd.log"; die "slurmdbd failed to start"; }
    wait_for "slurmdbd to answer sacctmgr" "$TIMEOUT" dbd_ok ||
        { show_log "$LOG_DIR/slurmdbd.log"; die "slurmdbd does not answer"; }
}
