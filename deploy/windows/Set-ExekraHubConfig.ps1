#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Writes the Exekra Hub's service settings into <InstallDir>\.env.

.DESCRIPTION
    With Redis running as its own service (ExekraHubRedis), exekra-hub must not
    start a redis-server of its own: redis.url (EXEKRA_REDIS_URL) points it at
    the service. Optionally also database.url and license.public_keys.

    The settings go to .env, not config\hub-config.json: exekra-hub writes that
    file at first start with // comments, which Windows PowerShell's JSON reader
    rejects, and connection strings may hold passwords. .env overrides the file.
    Other lines of .env are kept. The file is written as UTF-8 without a byte
    order mark (the Hub reads every line as EXEKRA_NAME=value, so a BOM would
    spoil the first name) and only SYSTEM and Administrators may read it.
    Restart ExekraHubService to apply a change.

.EXAMPLE
    .\Set-ExekraHubConfig.ps1 -DatabaseUrl 'postgres://exekra:secret@db.example:5432/exekra'
#>
[CmdletBinding()]
param(
    [string] $InstallDir = 'C:\Program Files\Exekra\Hub',
    # The ExekraHubRedis service (port 16379, the pilot's default redis.listen).
    [string] $RedisUrl = 'redis://127.0.0.1:16379/0',
    [string] $DatabaseUrl = '',
    [string] $LicensePublicKeys = ''
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$InstallDir = $InstallDir.TrimEnd('\')
if (-not [IO.Path]::IsPathRooted($InstallDir)) { throw "InstallDir must be an absolute path: $InstallDir" }
$envFile = Join-Path $InstallDir '.env'
$settings = [ordered]@{ EXEKRA_REDIS_URL = $RedisUrl }
if ($DatabaseUrl) { $settings['EXEKRA_DATABASE_URL'] = $DatabaseUrl }
if ($LicensePublicKeys) { $settings['EXEKRA_LICENSE_PUBLIC_KEYS'] = $LicensePublicKeys }

# Keep every line but those about to be written.
$lines = @()
if (Test-Path -PathType Leaf $envFile) {
    $lines = @([IO.File]::ReadAllLines($envFile) | Where-Object {
        $name = (($_ -split '=', 2)[0].Trim()) -replace '^export\s+', ''
        $settings.Keys -notcontains $name
    })
}
foreach ($name in $settings.Keys) {
    $lines += "$name=$($settings[$name])"
}

New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
[IO.File]::WriteAllLines($envFile, [string[]] $lines, (New-Object System.Text.UTF8Encoding $false))
# SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) by SID: names differ by language.
icacls.exe $envFile /inheritance:r /grant:r '*S-1-5-18:F' '*S-1-5-32-544:F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls $envFile failed with exit code $LASTEXITCODE" }
Write-Host "Wrote $($settings.Keys -join ', ') to $envFile"
