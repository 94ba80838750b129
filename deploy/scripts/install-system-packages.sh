#!/usr/bin/env bash
# Install the Debian packages the test tiers and checks need (.ci/packages/*.txt, one name per
# line): MariaDB and Redis servers, redis-sentinel, nginx, wrk, promtool, linters. Installs only
# what is missing; as a non-root user it prints the command instead. Used by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

mapfile -t wanted < <(cat .ci/packages/*.txt 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
