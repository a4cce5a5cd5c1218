#!/usr/bin/env bash
# Render an HTML report in headless Chromium and save a PNG, to check its layout by eye.
#
#   scripts/screenshot_report.sh report.html [report.png] [width] [height]
#
# Needs Chromium (Debian/Ubuntu: apt-get install -y chromium). Networking is switched off
# as far as flags allow, so the picture also shows that the report needs nothing online.
set -euo pipefail

html=${1:?usage: $0 REPORT.html [OUT.png] [WIDTH] [HEIGHT]}
png=${2:-${html%.html}.png}
width=${3:-1280}
height=${4:-2400}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
  echo "error: no chromium found (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --hide-scrollbars --screenshot="$png" --window-size="$width,$height" \
  "file://$(realpath "$html")" 2>/dev/null
echo "$png"
