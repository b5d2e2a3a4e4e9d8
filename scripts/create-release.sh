#!/usr/bin/env bash
# Example reaction script (reactions/myget-new-package.yaml): a new package was published, so
# create a Deckhand release for it and say so in chat. Uses the shipped helper for the API.
set -euo pipefail
source "$(dirname "$0")/lib/deckhand.sh"
package=$(deckhand_payload '.Payload.PackageIdentifier')
version=$(deckhand_payload '.Payload.PackageVersion')
app=${DECKHAND_QUERY_APP:-hello}
echo "Package ${package} ${version} published: creating release ${app} ${version}"
deckhand_create_release "$app" "$version" "package ${package} ${version}" > /dev/null
echo "Release ${app} ${version} created"
