#!/usr/bin/env bash
# Make a kubectl that can render deploy/k8s available under var/tools (used by tests/deploy).
# Idempotent and quick when one is already there; `task pytest` runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

# kubectl renders deploy/k8s in tests/deploy (kubectl kustomize). Debian 12 ships only kubectl
# 1.20, whose kustomize is too old; Debian 13's kubectl package (1.32) needs nothing but the C
# library, so it is fetched from the machine's own Debian mirror and unpacked under var/tools.
ensure_kubectl() {
  local candidate
  for candidate in "${KUBECTL:-}" "$PWD/var/tools/root/usr/bin/kubectl" "$(command -v kubectl || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
       && "$candidate" kustomize deploy/k8s/overlays/dev >/dev/null 2>&1; then
      return
    fi
  done
  local tools="$PWD/var/tools" mirror
  local state="$tools/apt"
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$tools/root"
  mirror="$(apt-get indextargets --format '$(REPO_URI)' | grep -v -- '-security' | sort -u | head -n 1)"
  mirror="${mirror:-$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)}"
  echo "deb ${mirror%/} trixie main" > "$state/sources.list"
  local apt_options=(
    -o "Dir::Etc::sourcelist=$state/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::archives=$state/archives"
    -o "APT::Sandbox::User=root"
  )
  apt-get "${apt_options[@]}" update -qq
  local version
  version="$(apt-cache "${apt_options[@]}" madison kubectl | awk -F' *[|] *' '/trixie/ { print $2; exit }')"
  (cd "$state" && apt-get "${apt_options[@]}" download "kubectl=$version")
  dpkg-deb -x "$(ls -t "$state"/kubectl_*.deb | head -n 1)" "$tools/root"
  "$tools/root/usr/bin/kubectl" version --client
}
ensure_kubectl
