#!/usr/bin/env bash
# The quick start: `fairwatch demo` on embedded defaults, no servers. From a clean checkout on a
# machine with Python 3.11: creates .venv if missing, installs fairwatch into it (`pip install -e .`,
# again only when pyproject.toml changed), then runs the demo. Arguments are passed to it:
#   bash deploy/local/demo.sh --short          # a small, fast run
#   bash deploy/local/demo.sh --speed 500 --webhook http://127.0.0.1:9000/hook
# The last line printed is the path of the HTML report.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf 'demo.sh: %s\n' "$*" >&2; }

# shellcheck source=deploy/local/venv.sh
source "$root/deploy/local/venv.sh"
ensure_venv .fairwatch-demo-stamp .

exec "$venv/bin/fairwatch" demo "$@"
