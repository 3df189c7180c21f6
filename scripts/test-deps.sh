#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium and ChromeDriver (the HTML report is checked in a
# real browser) and a CJK font. Installed once; a no-op when already there.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "tests need Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
