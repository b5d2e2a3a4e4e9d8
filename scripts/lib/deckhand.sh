#!/usr/bin/env bash
# Deckhand's REST API from a reaction script (bash). Source it:
#   source "$(dirname "$0")/lib/deckhand.sh"
#   deckhand_create_release api 1.4.0 "built by MyGet"
#   deckhand_deploy api 1.4.0 staging
#   deckhand_message "#deploys" "api 1.4.0 is on its way"
#   version=$(deckhand_payload '.Payload.PackageVersion')
# Deckhand gives a script run DECKHAND_API_URL and DECKHAND_API_TOKEN (valid for that run only) when
# the reaction lists what the script uses, e.g. script: { path: ..., api: [release, message] }
# (deploy, release, message, read). The token acts as reaction:<name>, with that actor's roles.
# JSON is built by node from arguments — never by pasting strings — so values cannot break it.

deckhand__json() { node -e 'const [,...a]=process.argv; const o={}; for (let i=0;i<a.length;i+=2) if (a[i+1]!=="") o[a[i]]=a[i+1]; process.stdout.write(JSON.stringify(o))' -- "$@"; }

# deckhand_api METHOD PATH [JSON] — prints the response body; fails (exit 22) on HTTP errors.
deckhand_api() {
  : "${DECKHAND_API_URL:?DECKHAND_API_URL is not set: run this from a Deckhand reaction whose script lists api: [...]}"
  : "${DECKHAND_API_TOKEN:?DECKHAND_API_TOKEN is not set: run this from a Deckhand reaction whose script lists api: [...]}"
  local method=$1 path=$2 body=${3:-}
  curl --silent --show-error --fail-with-body --max-time 30 -X "$method" \
    -H "Authorization: Bearer ${DECKHAND_API_TOKEN}" -H 'Content-Type: application/json' \
    ${body:+--data "$body"} "${DECKHAND_API_URL}${path}"
}

deckhand_create_release() { deckhand_api POST /releases "$(deckhand__json app "$1" version "$2" notes "${3:-}")"; }
deckhand_deploy() { deckhand_api POST /deployments "$(deckhand__json app "$1" ref "${2:-}" environment "${3:-}")"; }
deckhand_message() { deckhand_api POST /messages "$(deckhand__json channel "$1" text "$2")"; }

# deckhand_payload '.a.b' — a value from the event / webhook payload (DECKHAND_PAYLOAD_FILE), by path.
deckhand_payload() {
  node -e 'const v=process.argv[1].split(".").filter(Boolean).reduce((o,k)=>o==null?o:o[k], require(process.env.DECKHAND_PAYLOAD_FILE).payload ?? require(process.env.DECKHAND_PAYLOAD_FILE)); process.stdout.write(v==null?"":typeof v==="object"?JSON.stringify(v):String(v))' "$1"
}
