# Sourced by test.sh and demo.sh: `ensure_venv STAMP PIP_TARGET` makes sure $venv (default
# .venv) exists on Python >= 3.11 and holds fairwatch installed from PIP_TARGET ('.' or
# '.[test]'), reinstalling only when pyproject.toml changed since the install recorded in any of
# the venv's stamps (the test extras include everything the plain install has). Sets $py.
# Expects $root (the repository) and a `say` function.

venv="${FAIRWATCH_VENV:-$root/.venv}"
py="$venv/bin/python"

ensure_venv() {
  local stamp_name="$1" target="$2"
  if [[ ! -x "$py" ]]; then
    local base="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
    [[ -n "$base" ]] || { say "no python3.11 on PATH (set PYTHON=/path/to/python3.11)"; exit 2; }
    "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || { say "$base is older than Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 2; }
    say "creating $venv"
    "$base" -m venv "$venv"
  fi
  local want stamp
  want="$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)"
  for stamp in "$venv/$stamp_name" "$venv/.fairwatch-install-stamp"; do
    if [[ "$(cat "$stamp" 2>/dev/null || true)" == "$want" && -x "$venv/bin/fairwatch" ]]; then
      return 0
    fi
  done
  say "pip install -e '$target' (first run: a minute or two)"
  "$py" -m pip install -q --disable-pip-version-check -e "$target"
  echo "$want" > "$venv/$stamp_name"
}
