#!/usr/bin/env bash
# Installs the Debian packages Proofwork needs, only those missing. Needs root (or sudo).
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in bubblewrap util-linux git python3 python3-venv python3-dev chromium poppler-utils wrk postgresql redis-server; do
    have "$pkg" || need+=("$pkg")
done
# npm vendors the pages' front-end libraries (any npm on PATH will do, else Debian's).
command -v npm >/dev/null || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "system-deps: need root to install: ${need[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
