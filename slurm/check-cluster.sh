#!/usr/bin/env bash
# Smoke test of a running cluster (start-cluster.sh first): a cpu job, a gpu
# job that sees CUDA_VISIBLE_DEVICES=0, sacct, the %2 array throttle, the
# MaxArraySize limit and, with --preempt, an 'urgent' job preempting a cpu job
# that catches its USR2 and requeues itself. Prints what it checks; exits
# non-zero at the first failure. Takes about 15 s (30 s with --preempt).
# Any user may run it; jobs and outputs go to a temporary directory.
set -euo pipefail

PREEMPT=0
[[ ${1:-} == --preempt ]] && PREEMPT=1
MAX_ARRAY_SIZE=$(scontrol show config | awk '$1 == "MaxArraySize" {print $3}')

work=$(mktemp -d "${TMPDIR:-/tmp}/seqjobs-slurm-check.XXXXXX")
jobs=()
cleanup() {
    ((${#jobs[@]})) && scancel "${jobs[@]}" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

# wait_gone JOBID [SECONDS]: wait until squeue no longer lists the job.
wait_gone() {
    local deadline=$((SECONDS + ${2:-60}))
    while [[ -n $(squeue -h -j "$1" -o %i 2>/dev/null) ]]; do
        ((SECONDS < deadline)) || fail "job $1 still queued after ${2:-60}s"
        sleep 0.3
    done
}

sinfo -h -o '%P %a %t' | grep -Eq '^cpu\* up (idle|mix|alloc)$' || fail "partition cpu is not up: $(sinfo)"
ok "sinfo: $(sinfo -h -o '%P' | tr '\n' ' ')"

j=$(sbatch --parsable -o cpu.out --wrap 'hostname')
jobs+=("$j")
j_gpu=$(sbatch --parsable -p gpu --gpus-per-node=1 -o gpu.out --wrap 'echo $CUDA_VISIBLE_DEVICES')
jobs+=("$j_gpu")
wait_gone "$j"
wait_gone "$j_gpu"
[[ $(cat cpu.out) == "$(hostname -s)" ]] || fail "cpu job printed '$(cat cpu.out)'"
ok "cpu job $j ran on $(cat cpu.out)"
[[ $(cat gpu.out) == 0 ]] || fail "gpu job saw CUDA_VISIBLE_DEVICES='$(cat gpu.out)', expected 0"
ok "gpu job $j_gpu saw CUDA_VISIBLE_DEVICES=0"

# sacct may lag squeue by a second or two.
deadline=$((SECONDS + 30))
until [[ $(sacct -n -X -P -j "$j,$j_gpu" -o State | sort -u) == COMPLETED ]]; do
    ((SECONDS < deadline)) || fail "sacct: $(sacct -X -j "$j,$j_gpu")"
    sleep 0.5
done
ok "sacct lists $j and $j_gpu as COMPLETED"

a=$(sbatch --parsable --array=0-5%2 -o array-%a.out --wrap 'sleep 2')
jobs+=("$a")
most=0
deadline=$((SECONDS + 90))
while [[ -n $(squeue -h -j "$a" -o %i) ]]; do
    n=$(squeue -h -j "$a" -t RUNNING -o %i | wc -l)
    ((n > most)) && most=$n
    ((SECONDS < deadline)) || fail "array $a not done after 90s"
    sleep 0.2
done
((most <= 2)) || fail "array $a ran $most tasks at once despite %2"
[[ $(ls array-*.out | wc -l) == 6 ]] || fail "array $a: $(ls array-*.out | wc -l) of 6 tasks wrote output"
ok "array $a (0-5%2): 6 tasks, at most $most running at once"

if sbatch --array=0-$MAX_ARRAY_SIZE --wrap true >/dev/null 2>&1; then
    fail "--array=0-$MAX_ARRAY_SIZE was accepted although MaxArraySize=$MAX_ARRAY_SIZE"
fi
ok "--array=0-$MAX_ARRAY_SIZE refused (MaxArraySize=$MAX_ARRAY_SIZE: indices 0..$((MAX_ARRAY_SIZE - 1)))"

if ((PREEMPT)); then
    cores=$(sinfo -h -N -o '%c' | head -n 1)
    cat >long.sh <<'EOF'
#!/bin/bash
echo "start ${SLURM_RESTART_COUNT:-0}"
# What submitit does: checkpoint, requeue itself, exit.
trap 'echo "USR2 ${SLURM_RESTART_COUNT:-0}"; scontrol requeue $SLURM_JOB_ID; exit 0' USR2
for i in $(seq 600); do sleep 1; done
EOF
    l=$(sbatch --parsable -p cpu -c "$cores" --requeue --signal=B:USR2@60 --open-mode=append -o long.out long.sh)
    jobs+=("$l")
    until [[ $(squeue -h -j "$l" -o %T) == RUNNING ]]; do sleep 0.3; done
    sleep 1
    t0=$SECONDS
    u=$(sbatch --parsable -p urgent -c "$cores" -o urgent.out --wrap 'echo urgent')
    jobs+=("$u")
    wait_gone "$u" 90
    ok "urgent job $u ran after $((SECONDS - t0))s, preempting $l"
    grep -qx 'USR2 0' long.out || fail "job $l did not get USR2: $(cat long.out)"
    deadline=$((SECONDS + 60))
    until grep -qx 'start 1' long.out; do
        ((SECONDS < deadline)) || fail "job $l was not restarted: $(cat long.out)"
        sleep 0.3
    done
    ok "preempted job $l got USR2, requeued itself and restarted $((SECONDS - t0))s after the urgent submit"
fi
echo "all checks passed"
