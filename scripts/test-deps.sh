#!/usr/bin/env bash
# `npm test`'s pre-step: makes sure the programs the tests spawn are on the PATH.
#
#   redis-server         Debian package redis-server  (test/helpers/redis.ts: one per test file)
#   promtool, prometheus Debian package prometheus    (test/metrics: lint metrics and rules, scrape)
#   timeout              coreutils                    (bounds the life of a spawned prometheus)
#   chromium             Debian package chromium      (test/ui: the dashboard in a real browser, via playwright-core)
#
# What is missing is installed with apt-get when this runs as root on a machine that has it
# (the way CI's .ci/run always did), unless SWITCHYARD_TEST_NO_INSTALL=1. Otherwise it stops
# at once with one line naming the package and the command that installs it.
set -euo pipefail

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "npm test needs Node.js >= ${need_node_major} (this is $(node --version 2>/dev/null || echo 'no node'))" >&2
  exit 1
fi

# command → Debian package
declare -A package_of=([redis-server]=redis-server [promtool]=prometheus [prometheus]=prometheus [timeout]=coreutils [chromium]=chromium)
commands=(redis-server promtool prometheus timeout chromium)

missing_packages () {
  local cmd pkgs=()
  for cmd in "${commands[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
      [[ " ${pkgs[*]-} " == *" ${package_of[$cmd]} "* ]] || pkgs+=("${package_of[$cmd]}")
    fi
  done
  echo "${pkgs[*]-}"
}

missing_commands () {
  local cmd out=()
  for cmd in "${commands[@]}"; do command -v "$cmd" >/dev/null 2>&1 || out+=("$cmd"); done
  echo "${out[*]-}"
}

read -r -a packages <<< "$(missing_packages)"
[ "${#packages[@]}" -eq 0 ] && exit 0

cmds=$(missing_commands)
pkgs="${packages[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test needs ${cmds// /, } (not on the PATH): install ${pkgs} (Debian's package names) with your system's package manager" >&2
  exit 1
fi
if [ "${SWITCHYARD_TEST_NO_INSTALL:-}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
  echo "npm test needs ${cmds// /, } (not on the PATH): install the Debian package${packages[1]:+s} ${pkgs} with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs}" >&2
  exit 1
fi

echo "test-deps: ${cmds// /, } missing: installing ${pkgs} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# The packages' own daemons must not start: Debian's prometheus would listen on :9090
# (switchyard's default admin port). A policy-rc.d that exits 101 tells the maintainer
# scripts not to start services; add one only for this install if there is none.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  own_policy=true
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
log=$(mktemp -t switchyard-test-deps.XXXXXX)
# --reinstall also brings back a program deleted from an installed package.
if ! { apt-get update -qq && apt-get install -y -qq --reinstall --no-install-recommends "${packages[@]}"; } >"$log" 2>&1; then
  echo "test-deps: apt-get could not install ${pkgs} (its output: ${log}); install it with: apt-get update && apt-get install -y --no-install-recommends ${pkgs}" >&2
  exit 1
fi
rm -f "$log"
if "$own_policy"; then rm -f "$policy"; trap - EXIT; fi
# If an existing policy let the prometheus daemon start anyway, stop it.
if [[ " ${pkgs} " == *" prometheus "* ]]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now --quiet prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

still=$(missing_commands)
if [ -n "$still" ]; then
  echo "test-deps: ${pkgs} installed, but ${still// /, } still not on the PATH (${PATH})" >&2
  exit 1
fi
echo "test-deps: installed ${pkgs}" >&2
