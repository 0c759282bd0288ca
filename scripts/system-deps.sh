#!/bin/sh
# Installs the Debian packages perpass needs when they are missing: bubblewrap (the sandbox every
# agent command runs in) and git; for `test` also chromium (the browser the report tests drive) and
# npm (the external-agent tests install Codex CLI and Claude Code with it).
# As root it installs them; otherwise it prints the one command to run and stops.
# Usage: system-deps.sh demo|test
set -e
missing=""
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v git >/dev/null 2>&1 || missing="$missing git"
# llama-cpp-python compiles from source once: it needs a C++ compiler.
command -v g++ >/dev/null 2>&1 || missing="$missing g++"
# Debian splits venv support out of python3.
"${PYTHON:-python3}" -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$missing python3-venv"
if [ "${1:-test}" = "test" ]; then
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  # the external-agent tests install Codex CLI and Claude Code from npm (Codex's launcher runs on node)
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ]; then
  echo "installing:$missing"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
else
  echo "perpass needs:$missing — run: sudo apt-get install -y$missing" >&2
  exit 2
fi
