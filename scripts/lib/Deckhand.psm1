# Deckhand's REST API from a reaction script (PowerShell 7). Import it:
#   Import-Module (Join-Path $PSScriptRoot 'lib/Deckhand.psm1')
#   $payload = Get-DeckhandPayload          # the webhook / event payload
#   $query   = Get-DeckhandQuery            # the webhook's query parameters
#   New-DeckhandRelease -App api -Version $payload.Payload.PackageVersion -Notes 'from MyGet'
#   Start-DeckhandDeployment -App api -Ref 1.4.0 -Environment staging
#   Send-DeckhandMessage -Channel '#deploys' -Text 'api 1.4.0 is on its way'
# Deckhand gives a script run DECKHAND_API_URL and DECKHAND_API_TOKEN (valid for that run only) when
# the reaction lists what the script uses, e.g. script: { path: ..., api: [release, message] }
# (deploy, release, message, read). The token acts as reaction:<name>, with that actor's roles.

function Invoke-DeckhandApi {
    param([Parameter(Mandatory)][string]$Method, [Parameter(Mandatory)][string]$Path, [hashtable]$Body)
    if (-not $env:DECKHAND_API_URL -or -not $env:DECKHAND_API_TOKEN) {
        throw 'DECKHAND_API_URL / DECKHAND_API_TOKEN are not set: run this from a Deckhand reaction whose script lists api: [...]'
    }
    $params = @{
        Method      = $Method
        Uri         = "$($env:DECKHAND_API_URL)$Path"
        Headers     = @{ Authorization = "Bearer $($env:DECKHAND_API_TOKEN)" }
        ContentType = 'application/json'
        TimeoutSec  = 30
    }
    if ($Body) { $params.Body = ($Body | ConvertTo-Json -Depth 10 -Compress) }
    Invoke-RestMethod @params
}

function Get-DeckhandPayload {
    $data = Get-Content -Raw -LiteralPath $env:DECKHAND_PAYLOAD_FILE | ConvertFrom-Json
    if ($null -ne $data.payload) { $data.payload } else { $data }
}

function Get-DeckhandQuery {
    (Get-Content -Raw -LiteralPath $env:DECKHAND_PAYLOAD_FILE | ConvertFrom-Json).query
}

function New-DeckhandRelease {
    param([Parameter(Mandatory)][string]$App, [Parameter(Mandatory)][string]$Version, [string]$Notes)
    $body = @{ app = $App; version = $Version }
    if ($Notes) { $body.notes = $Notes }
    Invoke-DeckhandApi -Method POST -Path '/releases' -Body $body
}

function Start-DeckhandDeployment {
    param([Parameter(Mandatory)][string]$App, [string]$Ref, [string]$Environment)
    $body = @{ app = $App }
    if ($Ref) { $body.ref = $Ref }
    if ($Environment) { $body.environment = $Environment }
    Invoke-DeckhandApi -Method POST -Path '/deployments' -Body $body
}

function Send-DeckhandMessage {
    param([Parameter(Mandatory)][string]$Channel, [Parameter(Mandatory)][string]$Text)
    Invoke-DeckhandApi -Method POST -Path '/messages' -Body @{ channel = $Channel; text = $Text }
}

Export-ModuleMember -Function Invoke-DeckhandApi, Get-DeckhandPayload, Get-DeckhandQuery, New-DeckhandRelease, Start-DeckhandDeployment, Send-DeckhandMessage
