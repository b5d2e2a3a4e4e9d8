# Example reaction script (PowerShell): a new package was published, so create a Deckhand
# release for it. Same job as create-release.sh, with the shipped Deckhand module.
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'lib/Deckhand.psm1')
$payload = Get-DeckhandPayload
$query = Get-DeckhandQuery
$app = if ($query.app) { $query.app } else { 'hello' }
$package = $payload.Payload.PackageIdentifier
$version = $payload.Payload.PackageVersion
Write-Output "Package $package $version published: creating release $app $version"
New-DeckhandRelease -App $app -Version $version -Notes "package $package $version" | Out-Null
Write-Output "Release $app $version created"
