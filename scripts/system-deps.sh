#!/bin/sh
# Installs the Debian packages perpass needs when they are missing: bubblewrap (the sandbox every
# agent command runs in), git, and chromium (the browser the report tests drive).
# As root it installs them; otherwise it prints the one command to run and stops.
set -e
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v git >/dev/null 2>&1 || missing="$missing git"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "installing:$missing"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
else
  echo "perpass needs:$missing — run: sudo apt-get install -y$missing" >&2
  exit 2
fi
