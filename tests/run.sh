#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install seqjobs, start the real
# single-host SLURM cluster, run every test (SLURM ones included), stop the
# cluster. Exits non-zero when any test fails, and when no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[cpu,test]'

cluster_started=0
if [ "${SEQJOBS_SKIP_SLURM:-0}" != "1" ]; then
    bash slurm/start-cluster.sh
    cluster_started=1
fi
stop_cluster() { [ "$cluster_started" = 1 ] && bash slurm/stop-cluster.sh || true; }
trap stop_cluster EXIT

markers=()
[ "$cluster_started" = 1 ] || markers=(-m "not slurm")
set +e
SEQJOBS_REQUIRE_SLURM=$cluster_started python3 -m pytest -q "${markers[@]}" "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
    echo "tests/run.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"
