# Deploys the bundled demo app "hello". Nothing is really deployed: it writes a release
# marker ($env:DECKHAND_DATA_DIR/<app>/<environment>/current.json) and appends to history.log
# next to it, so a deployment has a visible, harmless effect.
#
# Demo convention: a ref starting with "fail" (e.g. fail-demo) always fails, to show what
# a failed deployment looks like in chat. Nothing is written in that case.
#
# Exit codes: 0 deployed, 1 deployment failed, 2 missing or invalid input.
# Keep in step with hello-deploy.sh.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

function Exit-WithUsageError([string]$Message) {
    [Console]::Error.WriteLine("hello-deploy: $Message")
    exit 2
}

$required = @(
    'DECKHAND_APP', 'DECKHAND_ENVIRONMENT', 'DECKHAND_REF', 'DECKHAND_DEPLOYMENT_ID',
    'DECKHAND_REQUESTED_BY', 'DECKHAND_DRY_RUN', 'DECKHAND_DATA_DIR', 'DECKHAND_DEPLOYMENT_FILE'
)
foreach ($name in $required) {
    if ([string]::IsNullOrEmpty([Environment]::GetEnvironmentVariable($name))) {
        Exit-WithUsageError "$name is not set"
    }
}

$app = $env:DECKHAND_APP
$environment = $env:DECKHAND_ENVIRONMENT
$ref = $env:DECKHAND_REF
$deploymentId = $env:DECKHAND_DEPLOYMENT_ID
$requestedBy = $env:DECKHAND_REQUESTED_BY
$dryRun = $env:DECKHAND_DRY_RUN
$dataDir = $env:DECKHAND_DATA_DIR

# App and environment become directory names, so they must be plain names.
$safeName = '^[A-Za-z0-9_][A-Za-z0-9._-]*$'
if ($app -cnotmatch $safeName) { Exit-WithUsageError "DECKHAND_APP is not a plain name: $app" }
if ($environment -cnotmatch $safeName) { Exit-WithUsageError "DECKHAND_ENVIRONMENT is not a plain name: $environment" }
if ($deploymentId -cnotmatch '^(0|[1-9][0-9]*)$') { Exit-WithUsageError "DECKHAND_DEPLOYMENT_ID is not a number: $deploymentId" }
if ($dryRun -cne 'true' -and $dryRun -cne 'false') { Exit-WithUsageError "DECKHAND_DRY_RUN must be true or false, got: $dryRun" }
if (-not [System.IO.Path]::IsPathFullyQualified($dataDir)) { Exit-WithUsageError "DECKHAND_DATA_DIR must be an absolute path, got: $dataDir" }
if (-not (Test-Path -LiteralPath $env:DECKHAND_DEPLOYMENT_FILE -PathType Leaf)) {
    Exit-WithUsageError "cannot read DECKHAND_DEPLOYMENT_FILE: $($env:DECKHAND_DEPLOYMENT_FILE)"
}

$targetDir = Join-Path (Join-Path $dataDir $app) $environment
$marker = Join-Path $targetDir 'current.json'
$history = Join-Path $targetDir 'history.log'

Write-Output "Deploying $app@$ref to $environment (deployment #$deploymentId, requested by $requestedBy)"
Start-Sleep -Milliseconds 200
Write-Output "Fetching build for $ref ..."
Start-Sleep -Milliseconds 200

if ($ref.StartsWith('fail', [StringComparison]::Ordinal)) {
    Write-Output 'Running database migrations ...'
    Start-Sleep -Milliseconds 200
    [Console]::Error.WriteLine("error: migration 0042 failed for $ref (refs starting with 'fail' always fail in this demo)")
    exit 1
}

if ($dryRun -ceq 'true') {
    Write-Output "DRY RUN: would write release marker $marker"
    Write-Output "DRY RUN: would append to $history"
    Write-Output 'Done (dry run, nothing written).'
    exit 0
}

$deployedAt = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [Globalization.CultureInfo]::InvariantCulture)
Write-Output "Writing release marker $marker ..."
New-Item -ItemType Directory -Force -Path $targetDir | Out-Null
$release = [ordered]@{
    app           = $app
    environment   = $environment
    ref           = $ref
    deployment_id = [long]$deploymentId
    requested_by  = $requestedBy
    deployed_at   = $deployedAt
}
$tmp = Join-Path $targetDir ".current.json.$PID.tmp"
try {
    [IO.File]::WriteAllText($tmp, ($release | ConvertTo-Json -Compress) + "`n")
    # Replacing in one rename means readers see the old marker or the new one, never half of one.
    [IO.File]::Move($tmp, $marker, $true)
}
finally {
    if (Test-Path -LiteralPath $tmp) { Remove-Item -LiteralPath $tmp -Force }
}
Start-Sleep -Milliseconds 200

Write-Output "Recording the release in $history ..."
# One line per release, whatever characters the ref or the requester's name contain.
$oneLine = { param([string]$Text) $Text -replace '[\p{Cc}]', ' ' }
$entry = '{0} #{1} {2} {3}' -f $deployedAt, $deploymentId, (& $oneLine $ref), (& $oneLine $requestedBy)
[IO.File]::AppendAllText($history, $entry + "`n")
Start-Sleep -Milliseconds 200
Write-Output 'Done.'
exit 0
