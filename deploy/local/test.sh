#!/usr/bin/env bash
# The one test command. From a clean checkout on a machine with Python 3.11, Java 17, Maven and Go:
# creates .venv, installs fairwatch with its test extras, fetches Kafka's jars, builds InfluxDB and
# unpacks Apache Flink from its PyPI wheels (all cached under ~/.cache/fairwatch), starts a private
# Kafka broker, InfluxDB server and Flink cluster on free loopback ports, runs ruff (lint and format
# check), mypy and the whole pytest suite against them, and stops the servers on exit. Arguments
# are passed to pytest:
#   bash deploy/local/test.sh -x -k kafka
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf 'test.sh: %s\n' "$*" >&2; }

# --- virtualenv -------------------------------------------------------------------------------
# shellcheck source=deploy/local/venv.sh
source "$root/deploy/local/venv.sh"
ensure_venv .fairwatch-install-stamp ".[test]"

# --- helm (renders the Helm chart in tests/deploy; cached, best effort) -----------------------
if helm_bin="$(bash deploy/helm/install-helm.sh)"; then
  export PATH="$(dirname "$helm_bin"):$PATH"
else
  say "helm could not be built; the chart-rendering tests will be skipped"
fi

# --- servers ----------------------------------------------------------------------------------
state="$(mktemp -d "${TMPDIR:-/tmp}/fairwatch-test-servers.XXXXXX")"
status=0
cleanup() {
  "$py" deploy/local/flink.py stop --state-dir "$state" || true
  "$py" deploy/local/localservers.py stop --state-dir "$state" || true
  if [[ $status -eq 0 ]]; then rm -rf "$state"; else say "server logs kept in $state"; fi
}
trap cleanup EXIT
trap 'status=130; exit 130' INT TERM

started=$SECONDS
if ! exports="$("$py" deploy/local/localservers.py start --state-dir "$state")"; then
  status=1
  say "could not start the local servers (see above)"
  exit 1
fi
eval "$exports"
export FAIRWATCH_TEST_KAFKA_BOOTSTRAP FAIRWATCH_TEST_INFLUXDB_URL FAIRWATCH_TEST_INFLUXDB_TOKEN \
  FAIRWATCH_TEST_INFLUXDB_ORG FAIRWATCH_TEST_INFLUXDB_BUCKET
say "servers up in $((SECONDS - started)) s: kafka $FAIRWATCH_TEST_KAFKA_BOOTSTRAP, influxdb $FAIRWATCH_TEST_INFLUXDB_URL"

# --- flink (a JobManager and a TaskManager for tests/fairwatch/flink; ~330 MB the first time) --
started=$SECONDS
if ! exports="$("$py" deploy/local/flink.py start --state-dir "$state")"; then
  status=1
  say "could not start the local Flink cluster (see above)"
  exit 1
fi
eval "$exports"
export FAIRWATCH_TEST_FLINK_REST_URL FAIRWATCH_TEST_FLINK_HOME FAIRWATCH_TEST_FLINK_CONF_DIR \
  FAIRWATCH_TEST_FLINK_STATE_DIR
say "flink up in $((SECONDS - started)) s: $FAIRWATCH_TEST_FLINK_REST_URL"

# --- checks: run all three, fail if any failed ------------------------------------------------
say "ruff check ."
"$venv/bin/ruff" check . || status=1
say "ruff format --check ."
"$venv/bin/ruff" format --check . || status=1
say "mypy (packages from pyproject: monitor, alerting, fairwatch)"
"$venv/bin/mypy" || status=1
say "pytest $*"
"$py" -m pytest "$@" || status=$?
[[ $status -eq 0 ]] && say "all passed" || say "FAILED (status $status)"
exit "$status"
