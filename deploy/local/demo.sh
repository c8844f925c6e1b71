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

venv="${FAIRWATCH_VENV:-$root/.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  base="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
  [[ -n "$base" ]] || { say "no python3.11 on PATH (set PYTHON=/path/to/python3.11)"; exit 2; }
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { say "$base is older than Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 2; }
  say "creating $venv"
  "$base" -m venv "$venv"
fi
py="$venv/bin/python"

# Install only when pyproject.toml changed since the last install into this venv (by this script
# or by deploy/local/test.sh, which installs the same package with its test extras).
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
installed=""
for stamp in "$venv/.fairwatch-demo-stamp" "$venv/.fairwatch-install-stamp"; do
  [[ "$(cat "$stamp" 2>/dev/null || true)" == "$want" ]] && installed=yes
done
if [[ -z "$installed" ]] || [[ ! -x "$venv/bin/fairwatch" ]]; then
  say "pip install -e . (first run: a minute or two)"
  "$py" -m pip install -q --disable-pip-version-check -e .
  echo "$want" > "$venv/.fairwatch-demo-stamp"
fi

exec "$venv/bin/fairwatch" demo "$@"
