#!/usr/bin/env bash
# The main job: installs what kexin needs (Debian 12), builds it, and scans the sample data shipped
# in examples/, printing the classification and grading report. Extra arguments go to `kexin scan`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target kexin
echo "+ build/release/kexin scan examples/customers.csv $*" >&2
exec build/release/kexin scan examples/customers.csv "$@"
