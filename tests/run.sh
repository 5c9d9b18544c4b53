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
# Before the tests it runs the static checks (ruff, the formatter's check,
# mypy), which fail the run as a failing test does.
#
# Environment: SEQJOBS_SKIP_SLURM=1 runs the tests that need no cluster only;
# PYTHON names the interpreter the environment is made from [python3].
# Arguments are passed to pytest.
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
trap stop_cluster EXIT

# Static checks first (seconds), configured in pyproject.toml; a failure fails the run, after the tests.
set +e
echo "tests/run.sh: ruff check, ruff format --check, mypy"
"$VENV/bin/ruff" check --quiet . && "$VENV/bin/ruff" format --check --quiet . && "$VENV/bin/mypy"
static=$?
[ "$static" = 0 ] || echo "tests/run.sh: the static checks above failed" >&2

markers=()
[ "$cluster_started" = 1 ] || markers=(-m "not slurm")
SEQJOBS_REQUIRE_SLURM=$cluster_started "$VENV/bin/python" -m pytest -q --durations=25 "${markers[@]}" "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
    echo "tests/run.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
[ "$status" = 0 ] || exit "$status"
exit "$static"
