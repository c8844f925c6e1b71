#!/usr/bin/env bash
# Start, stop or inspect the local Kafka broker and InfluxDB server used by the tests.
#   deploy/local/servers.sh start [--state-dir DIR] [--kafka-port N] [--influxdb-port N] [--env-file F]
#   deploy/local/servers.sh status|stop [--state-dir DIR]
# All logic lives in localservers.py; this only picks a Python that has kafka-python.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${FAIRWATCH_PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
exec "$python" "$here/localservers.py" "$@"
