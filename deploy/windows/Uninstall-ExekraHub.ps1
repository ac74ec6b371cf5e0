#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Stops and removes the Exekra Hub's Windows services and firewall rule.

.DESCRIPTION
    Removes ExekraHubService, then ExekraHubRedis (the Hub depends on Redis),
    the firewall rule for HTTPS (8443), and the EXEKRA_REDIS_URL line that
    Install-ExekraHub.ps1 wrote to .env, so exekra-hub run by hand starts its
    own redis-server again. Settings, certificates, data and logs stay in
    the install dir, and so does runtime\redis (redis-server.exe, its ACL
    file and redis.log); delete the install dir yourself to remove them too.

.EXAMPLE
    .\Uninstall-ExekraHub.ps1
#>
[CmdletBinding()]
param(
    [string] $InstallDir = 'C:\Program Files\Exekra\Hub',
    # Default: <InstallDir>\bin\nssm.exe, where Install-ExekraHub.ps1 put it.
    [string] $NssmPath = ''
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$InstallDir = $InstallDir.TrimEnd('\')
if (-not [IO.Path]::IsPathRooted($InstallDir)) { throw "InstallDir must be an absolute path: $InstallDir" }
if (-not $NssmPath) { $NssmPath = Join-Path $InstallDir 'bin\nssm.exe' }

# The Hub first: stopping it runs the supervisor's ordered stop.
foreach ($name in @('ExekraHubService', 'ExekraHubRedis')) {
    if (-not (Get-Service -Name $name -ErrorAction SilentlyContinue)) {
        Write-Host "$name is not installed"
        continue
    }
    Stop-Service -Name $name -Force
    & $NssmPath remove $name confirm
    if ($LASTEXITCODE -ne 0) { throw "nssm remove $name failed with exit code $LASTEXITCODE" }
    Write-Host "Removed service $name"
}

Remove-NetFirewallRule -Name 'ExekraHub-HTTPS-In' -ErrorAction SilentlyContinue

$envFile = Join-Path $InstallDir '.env'
if (Test-Path -PathType Leaf $envFile) {
    $lines = @([IO.File]::ReadAllLines($envFile) | Where-Object { $_ -ne 'EXEKRA_REDIS_URL=redis://127.0.0.1:16379/0' })
    [IO.File]::WriteAllLines($envFile, [string[]] $lines, (New-Object System.Text.UTF8Encoding $false))
}
Write-Host "Done. Settings, data and logs remain in $InstallDir (Redis: $InstallDir\runtime\redis)"
