#!/usr/bin/env bash
# Make podman able to build and run the images here (used by tests/deploy/test_containers.py):
# podman with the runc runtime (crun fails in a container sandbox's cgroups), mmdebstrap for the
# local Debian base image and uidmap for podman's user namespaces, installed from the machine's
# Debian mirror when missing. Idempotent and quick when they are there; `task pytest` runs it
# first. podman-compose comes from the uv environment (uv.lock pins it), not from here.
set -euo pipefail

packages=(podman runc mmdebstrap uidmap)
commands=(podman runc mmdebstrap newuidmap)

missing=()
for i in "${!packages[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  # The other tests still run; the container tests fail and say what is missing.
  echo "ensure-podman: ${missing[*]} missing; install them (apt-get install ${missing[*]}) as root" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
podman --version
