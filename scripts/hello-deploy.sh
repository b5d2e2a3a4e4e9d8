#!/usr/bin/env bash
# Deploys the bundled demo app "hello". Nothing is really deployed: it writes a release
# marker ($DECKHAND_DATA_DIR/<app>/<environment>/current.json) and appends to history.log
# next to it, so a deployment has a visible, harmless effect.
#
# Demo convention: a ref starting with "fail" (e.g. fail-demo) always fails, to show what
# a failed deployment looks like in chat. Nothing is written in that case.
#
# Exit codes: 0 deployed, 1 deployment failed, 2 missing or invalid input.
# Keep in step with hello-deploy.ps1.
set -euo pipefail

usage_error() {
  echo "hello-deploy: $1" >&2
  exit 2
}

for name in DECKHAND_APP DECKHAND_ENVIRONMENT DECKHAND_REF DECKHAND_DEPLOYMENT_ID \
  DECKHAND_REQUESTED_BY DECKHAND_DRY_RUN DECKHAND_DATA_DIR DECKHAND_DEPLOYMENT_FILE; do
  [[ -n "${!name:-}" ]] || usage_error "$name is not set"
done

app=$DECKHAND_APP
environment=$DECKHAND_ENVIRONMENT
ref=$DECKHAND_REF
deployment_id=$DECKHAND_DEPLOYMENT_ID
requested_by=$DECKHAND_REQUESTED_BY
dry_run=$DECKHAND_DRY_RUN
data_dir=$DECKHAND_DATA_DIR

# App and environment become directory names, so they must be plain names.
safe_name='^[A-Za-z0-9_][A-Za-z0-9._-]*$'
[[ $app =~ $safe_name ]] || usage_error "DECKHAND_APP is not a plain name: $app"
[[ $environment =~ $safe_name ]] || usage_error "DECKHAND_ENVIRONMENT is not a plain name: $environment"
[[ $deployment_id =~ ^(0|[1-9][0-9]*)$ ]] || usage_error "DECKHAND_DEPLOYMENT_ID is not a number: $deployment_id"
[[ $dry_run == true || $dry_run == false ]] || usage_error "DECKHAND_DRY_RUN must be true or false, got: $dry_run"
[[ $data_dir == /* ]] || usage_error "DECKHAND_DATA_DIR must be an absolute path, got: $data_dir"
[[ -r $DECKHAND_DEPLOYMENT_FILE ]] || usage_error "cannot read DECKHAND_DEPLOYMENT_FILE: $DECKHAND_DEPLOYMENT_FILE"

# Prints $1 as a JSON string.
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[[:cntrl:]]/}
  printf '"%s"' "$s"
}

target_dir="$data_dir/$app/$environment"
marker="$target_dir/current.json"
history="$target_dir/history.log"

echo "Deploying $app@$ref to $environment (deployment #$deployment_id, requested by $requested_by)"
sleep 0.2
echo "Fetching build for $ref ..."
sleep 0.2

if [[ $ref == fail* ]]; then
  echo "Running database migrations ..."
  sleep 0.2
  echo "error: migration 0042 failed for $ref (refs starting with 'fail' always fail in this demo)" >&2
  exit 1
fi

if [[ $dry_run == true ]]; then
  echo "DRY RUN: would write release marker $marker"
  echo "DRY RUN: would append to $history"
  echo "Done (dry run, nothing written)."
  exit 0
fi

deployed_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "Writing release marker $marker ..."
mkdir -p "$target_dir"
tmp=$(mktemp "$target_dir/.current.json.XXXXXX")
trap 'rm -f "$tmp"' EXIT
printf '{"app":%s,"environment":%s,"ref":%s,"deployment_id":%s,"requested_by":%s,"deployed_at":%s}\n' \
  "$(json_string "$app")" "$(json_string "$environment")" "$(json_string "$ref")" \
  "$deployment_id" "$(json_string "$requested_by")" "$(json_string "$deployed_at")" >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$marker"
sleep 0.2

echo "Recording the release in $history ..."
# One line per release, whatever characters the ref or the requester's name contain.
printf '%s #%s %s %s\n' "$deployed_at" "$deployment_id" "${ref//[[:cntrl:]]/ }" "${requested_by//[[:cntrl:]]/ }" >>"$history"
sleep 0.2
echo "Done."
