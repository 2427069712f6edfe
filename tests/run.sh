#!/usr/bin/env bash
# Install everything the tests need (Debian packages as root, then the Python package
# with its test extras) and run the whole suite. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES="curl busybox nginx fcgiwrap openssl systemd graphviz munge slurmctld slurmd slurm-client"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "tests/run.sh: missing Debian packages:$missing (tests that need them will skip)" >&2
  fi
fi
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
exec python3 -m pytest -q "$@"
