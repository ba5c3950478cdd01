#!/usr/bin/env bash
# Regenerates the screenshots of the student page (`armsim serve`) in
# docs/images/ from the real page in headless Chromium, so the tutorial's
# pictures never drift from the code. It runs the browser test
# (tests/browser.rs) against a release build with full-size studies; the test
# also prints the time from a slider change to the first chart and to the end
# of the runs. The tests run one at a time, so the timings are not shared with
# a second browser.
#
#   scripts/docs/screenshots.sh            # 100,000 runs a study
#   RUNS=20000 scripts/docs/screenshots.sh # quicker
#
# Needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-100000}"
cargo build --release --locked --quiet
ARMSIM_BIN="$PWD/target/release/armsim" \
ARMSIM_BROWSER_RUNS="$runs" \
ARMSIM_SCREENSHOTS="$PWD/docs/images" \
  cargo test --locked --quiet --test browser -- --ignored --nocapture --test-threads=1
echo "wrote docs/images/page-baseline.png, page-support-weight.png, page-change.png, page-error.png ($runs runs a study)"
