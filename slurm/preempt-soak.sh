#!/usr/bin/env bash
# The preemption soak on the test cluster: a sweep of char-LSTM and IMDB runs
# (tiny, packed and not) on the `cpu` partition while `urgent` jobs preempt
# them at random moments of their tasks' lives, until the wanted number of
# preemptions landed; then every run is compared with the same run
# uninterrupted. Writes results/soak-preempt.{md,csv} (or -o PREFIX).
#
#   bash slurm/start-cluster.sh
#   bash slurm/preempt-soak.sh --preemptions 300 --work /tmp/soak [--short] [--hours H] [--corpus TEXT]
#
# It wants every core of the node for its urgent jobs: run it on a cluster of
# its own (it holds off while jobs it did not submit run on cpu/gpu/nolimit).
# How it works and what it measured: docs/test-cluster.md, "The preemption soak".
# PYTHON names the interpreter that has seqjobs installed [python3].
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" -m jobs.bench.preempt "$@"
