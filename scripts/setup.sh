#!/usr/bin/env bash
# Installs every Debian 12 package kexin's build, tests and benchmarks need.
# Run as root (or with sudo available). A no-op when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev clang-format
  libgtest-dev libgmock-dev libbenchmark-dev
  libhyperscan-dev libsimdjson-dev nlohmann-json3-dev libcli11-dev
  libtomlplusplus-dev libfmt-dev
  libsodium-dev libssl-dev libsqlite3-dev libpq-dev libboost-dev libboost-system-dev libjemalloc-dev
  postgresql postgresql-client sqlite3 python3 python3-jsonschema iproute2 procps time curl wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup.sh: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
fi
echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
