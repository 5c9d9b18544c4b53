#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install seqjobs with its extras in
# a virtual environment of its own (.venv-test), start the real single-host
# SLURM cluster, run every test (SLURM ones included) with that environment's
# Python, stop the cluster. Exits non-zero when any test fails, and when no
# test ran at all.
#
# .venv-test holds only what pyproject.toml declares, so a dependency that is
# missing there fails here exactly as on a user's machine, whatever else the
# machine has installed. It is reused while its inputs are unchanged (the
# hash of pyproject.toml, the Python version and this folder's path, stored
# inside it) and rebuilt otherwise.
#
# Beside the tests it runs the static checks (ruff, the formatter's check,
# mypy), which fail the run as a failing test does.
#
# Environment: SEQJOBS_SKIP_SLURM=1 runs the tests that need no cluster only;
# PYTHON names the interpreter the environment is made from [python3].
# Arguments are passed to pytest, which then runs as one process.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-test
STAMP=$VENV/seqjobs-inputs.sha256
base_python=${PYTHON:-python3}

inputs=$({
    sha256sum pyproject.toml
    "$base_python" -c 'import sys; print(sys.version)'
    pwd
} | sha256sum | cut -d' ' -f1)

if [[ -f $STAMP && $(<"$STAMP") == "$inputs" && -x $VENV/bin/python ]]; then
    echo "tests/run.sh: reusing $VENV (pyproject.toml and Python unchanged)"
else
    echo "tests/run.sh: creating $VENV and installing seqjobs[cpu,test] into it"
    rm -rf "$VENV"
    "$base_python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[cpu,test]'
    # Written last: an interrupted install is redone next time.
    echo "$inputs" >"$STAMP"
fi

cluster_started=0
if [ "${SEQJOBS_SKIP_SLURM:-0}" != "1" ]; then
    bash slurm/start-cluster.sh
    cluster_started=1
fi
stop_cluster() { [ "$cluster_started" = 1 ] && bash slurm/stop-cluster.sh || true; }
other_pid=  # the other tests' session, while it runs (below): stopped with the script
stop_other() { [ -n "$other_pid" ] && kill -- -"$other_pid" 2>/dev/null || true; }
trap 'stop_other; stop_cluster' EXIT

# The static checks, configured in pyproject.toml, run beside the tests (they
# take seconds of CPU that the tests' first waits leave free); their output
# comes after the tests', and a failure fails the run as a failed test does.
set +e
static_log=$(mktemp)
{ "$VENV/bin/ruff" check --quiet . && "$VENV/bin/ruff" format --check --quiet . && "$VENV/bin/mypy"; } >"$static_log" 2>&1 &
static_pid=$!

# With the cluster up and no arguments, two pytest processes run side by side:
# the SLURM tests in one (serially: each counts the cluster's queue and jobs,
# so two at once would count each other's), every other test in the other,
# spread over two xdist workers a file at a time (--dist loadfile: a module's
# fixture that trains once, made per worker, is then not trained on both).
# SLURM tests spend most of their time waiting for the scheduler, which is why three at once fit two cores, and they are the
# longer of the two: the other tests yield the CPU to the SLURM jobs. They run
# in a session of their own whose autogroup is niced (with the kernel's
# autogroups, plain nice only ranks processes within one session, and every
# SLURM job runs in a session of its own); where autogroups are off, it is
# plain nice. Nice 5 gives the SLURM jobs three quarters of the CPU when both
# want it; nice 10 (nine tenths) starved a 15-minute subprocess of the other
# tests once the SLURM side was busy for long. Each writes its own log; the
# SLURM one is printed when both have ended.
OTHER_NICE=5
PYTEST=("$VENV/bin/python" -m pytest -q --durations=15)
yield_cpu() {  # $1: a session leader; once its session is its own, lower its autogroup's priority
    local _
    for _ in $(seq 200); do
        if [ "$(cut -d' ' -f6 "/proc/$1/stat" 2>/dev/null)" = "$1" ]; then
            echo "$OTHER_NICE" 2>/dev/null >"/proc/$1/autogroup" || renice -n "$OTHER_NICE" -g "$1" >/dev/null 2>&1 || true
            return
        fi
        sleep 0.01
    done
}
export SEQJOBS_REQUIRE_SLURM=$cluster_started
if [ "$cluster_started" = 1 ] && [ "$#" = 0 ]; then
    logs=$(mktemp -d)
    "${PYTEST[@]}" -m slurm --basetemp="$logs/slurm-tmp" >"$logs/slurm.log" 2>&1 &
    slurm_pid=$!
    setsid -w "${PYTEST[@]}" -m "not slurm" -n 2 --dist loadfile --basetemp="$logs/other-tmp" &
    other_pid=$!
    yield_cpu "$other_pid"
    wait "$other_pid"
    other=$?
    other_pid=
    wait "$slurm_pid"
    slurm=$?
    echo "tests/run.sh: the SLURM tests (run alongside the others):"
    cat "$logs/slurm.log"
    rm -rf "$logs"
    # Both must have run tests and passed; "no tests collected" (5) is a failure here.
    if [ "$other" = 0 ] && [ "$slurm" = 0 ]; then status=0; elif [ "$other" = 5 ] || [ "$slurm" = 5 ]; then status=5; else status=1; fi
else
    markers=()
    [ "$cluster_started" = 1 ] || markers=(-m "not slurm")
    "${PYTEST[@]}" "${markers[@]}" "$@"
    status=$?
fi
wait "$static_pid"
static=$?
echo "tests/run.sh: ruff check, ruff format --check, mypy:"
cat "$static_log"
rm -f "$static_log"
[ "$static" = 0 ] || echo "tests/run.sh: the static checks above failed" >&2
set -e
if [ "$status" = 5 ]; then
    echo "tests/run.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
[ "$status" = 0 ] || exit "$status"
exit "$static"
