# Pre-deploy check for the demo app "hello": refuses refs that look like work in progress
# (starting with "wip"), which "deploy!" skips. Same environment as hello-deploy.ps1.
#
# Exit codes: 0 passed, 1 check failed, 2 missing input.
# Keep in step with hello-check.sh.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ref = [Environment]::GetEnvironmentVariable('DECKHAND_REF')
if ([string]::IsNullOrEmpty($ref)) {
    [Console]::Error.WriteLine('hello-check: DECKHAND_REF is not set')
    exit 2
}

if ($ref.StartsWith('wip', [StringComparison]::Ordinal)) {
    [Console]::Error.WriteLine("ref $ref looks like work in progress; use deploy! to force")
    exit 1
}

Write-Output "checks passed for $ref"
exit 0
