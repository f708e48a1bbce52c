#!/usr/bin/env bash
# Renders the top of a run folder's report.html in headless Chromium into docs/report.png (the
# README's screenshot): `scripts/screenshot_report.sh results/<timestamp>`.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${1:?usage: scripts/screenshot_report.sh RUN_DIR}
page=$(realpath "$run_dir/report.html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --window-size=1000,1250 \
  --screenshot="$PWD/docs/report.png" "file://$page" 2>/dev/null
ls -l docs/report.png
