#!/usr/bin/env bash
# Vendors the pages' front-end libraries from the npm registry (versions pinned by
# web-assets/package-lock.json) into src/proofwork/web/static/vendor/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix web-assets --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
vendor=src/proofwork/web/static/vendor
mkdir -p "$vendor"
cp web-assets/node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"
cp web-assets/node_modules/axe-core/axe.min.js "$vendor/axe.min.js"
