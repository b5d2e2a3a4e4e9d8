#!/usr/bin/env bash
# Pre-deploy check for the demo app "hello": refuses refs that look like work in progress
# (starting with "wip"), which "deploy!" skips. Same environment as hello-deploy.sh.
#
# Exit codes: 0 passed, 1 check failed, 2 missing input.
# Keep in step with hello-check.ps1.
set -euo pipefail

ref=${DECKHAND_REF:-}
if [[ -z $ref ]]; then
  echo "hello-check: DECKHAND_REF is not set" >&2
  exit 2
fi

if [[ $ref == wip* ]]; then
  echo "ref $ref looks like work in progress; use deploy! to force" >&2
  exit 1
fi

echo "checks passed for $ref"
