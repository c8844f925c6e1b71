#!/usr/bin/env bash
# Build helm from its Go module into the fairwatch cache (the tests render the chart with it):
#   bash deploy/helm/install-helm.sh     # prints the binary's path; a no-op when it is there
# Needs Go. A cold build takes a few minutes; the binary is cached in ~/.cache/fairwatch/bin.
set -euo pipefail
cache="${FAIRWATCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fairwatch}"
version="${HELM_VERSION:-v3.19.0}"
if [ -x "$cache/bin/helm" ]; then
  echo "$cache/bin/helm"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-helm: Go is needed to build helm (or put helm on PATH)" >&2
  exit 1
fi
mkdir -p "$cache/bin"
echo "install-helm: building helm $version (a few minutes)" >&2
GOBIN="$cache/bin" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$version" >&2
echo "$cache/bin/helm"
