#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Installs the Exekra Hub pilot as two Windows services run by NSSM.

.DESCRIPTION
    ExekraHubRedis runs <InstallDir>\runtime\redis\redis-server.exe;
    ExekraHubService runs <InstallDir>\bin\exekra-hub.exe --home "<InstallDir>"
    and depends on ExekraHubRedis. The service definitions (NSSM settings,
    command lines, log files) are in services.json beside this script, which
    the repository's tests check.

    Redis is not part of the release: Redis publishes no Windows build. Put a
    Windows build of Redis 6.0 or later (the Hub's ACL file needs 6.0) in
    <InstallDir>\runtime\redis yourself, redis-server.exe with the DLLs it
    comes with, or pass -RedisPath: the folder holding them, whose
    redis-server.exe, redis-cli.exe and *.dll the script copies there.
    Redis keeps its data (none is saved), its ACL file users.acl and its
    log redis.log in that folder too.

    The script points the Hub at the Redis service (EXEKRA_REDIS_URL in
    <InstallDir>\.env, see Set-ExekraHubConfig.ps1), copies nssm.exe into
    <InstallDir>\bin, installs or updates both services, opens TCP 8443
    inbound for exekra-gateway.exe and (re)starts the services.
    Running it again updates everything in place. See HUB.md.

.EXAMPLE
    .\Install-ExekraHub.ps1 -NssmPath C:\Tools\nssm-2.24\win64\nssm.exe -RedisPath C:\Tools\Redis

.EXAMPLE
    .\Install-ExekraHub.ps1 -InstallDir 'D:\Exekra\Hub' -DatabaseUrl 'postgres://exekra:secret@db:5432/exekra'
#>
[CmdletBinding()]
param(
    # Where bin\ holds exekra-hub.exe and the five service binaries, and
    # runtime\redis the Windows build of redis-server.exe.
    [string] $InstallDir = 'C:\Program Files\Exekra\Hub',
    # nssm.exe (2.24 or later); copied to <InstallDir>\bin\nssm.exe when that is missing.
    [string] $NssmPath = '',
    # A folder with a Windows build of Redis 6.0 or later (redis-server.exe and
    # its DLLs); copied to <InstallDir>\runtime\redis when redis-server.exe is
    # missing there. An install made before runtime\redis kept it in bin:
    # pass -RedisPath '<InstallDir>\bin'.
    [string] $RedisPath = '',
    # Optional: an existing PostgreSQL for the Hub (written to .env as EXEKRA_DATABASE_URL).
    [string] $DatabaseUrl = '',
    # Do not create the firewall rule for HTTPS (8443).
    [switch] $NoFirewallRule,
    # Install or update the services without starting them.
    [switch] $NoStart
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$InstallDir = $InstallDir.TrimEnd('\')
if (-not [IO.Path]::IsPathRooted($InstallDir)) { throw "InstallDir must be an absolute path: $InstallDir" }
if ($InstallDir.Contains('"')) { throw "InstallDir must not contain a double quote: $InstallDir" }
$spec = Get-Content -Raw -Path (Join-Path $PSScriptRoot 'services.json') | ConvertFrom-Json
$bin = Join-Path $InstallDir 'bin'
$Nssm = Join-Path $bin 'nssm.exe'
$redisDir = Join-Path $InstallDir 'runtime\redis'

# services.json writes the install dir as {InstallDir}.
function Expand-Placeholder([string] $Text) {
    return $Text.Replace('{InstallDir}', $InstallDir)
}

# Runs nssm.exe and stops the script when it fails.
function Invoke-Nssm([string[]] $Arguments) {
    & $Nssm @Arguments
    if ($LASTEXITCODE -ne 0) { throw "nssm $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# nssm joins the words after `nssm set <service> AppParameters` with spaces and
# quotes none of them, and Windows PowerShell 5.1 does not escape quotes inside
# an argument to a native program, so a command line holding a quoted path
# (--home "C:\Program Files\...") goes straight into NSSM's registry value.
function Set-AppParameters([string] $Name, [string] $CommandLine) {
    $key = "HKLM:\SYSTEM\CurrentControlSet\Services\$Name\Parameters"
    New-ItemProperty -Path $key -Name AppParameters -PropertyType ExpandString -Value $CommandLine -Force | Out-Null
}

# 1. Programs: the services run exekra-hub.exe from bin\ and redis-server.exe
# from runtime\redis, so they must be there first.
if ($RedisPath -and -not (Test-Path -PathType Leaf (Join-Path $redisDir 'redis-server.exe'))) {
    if (-not (Test-Path -PathType Leaf (Join-Path $RedisPath 'redis-server.exe'))) { throw "redis-server.exe not found in $RedisPath (-RedisPath)" }
    New-Item -ItemType Directory -Force -Path $redisDir | Out-Null
    Copy-Item -Path (Join-Path $RedisPath '*') -Include 'redis-server.exe', 'redis-cli.exe', '*.dll' -Destination $redisDir
    Write-Host "Copied Redis from $RedisPath to $redisDir"
}
foreach ($svc in $spec.services) {
    $program = Expand-Placeholder $svc.program
    if (-not (Test-Path -PathType Leaf $program)) {
        if ($program.StartsWith($redisDir)) {
            throw "$program not found: put a Windows build of Redis 6.0 or later (redis-server.exe and its DLLs) in $redisDir, or pass -RedisPath (see runtime\redis\README.txt and HUB.md)"
        }
        throw "$program not found: copy the Hub's programs into $bin first (see HUB.md)"
    }
}
if (-not (Test-Path -PathType Leaf $Nssm)) {
    if (-not $NssmPath) { throw "nssm.exe not found in ${bin}: pass -NssmPath" }
    Copy-Item -Path $NssmPath -Destination $Nssm
}

# 2. Directories, and the Hub's settings: Redis is a service of its own.
foreach ($dir in $spec.directories) {
    New-Item -ItemType Directory -Force -Path (Expand-Placeholder $dir) | Out-Null
}
& (Join-Path $PSScriptRoot 'Set-ExekraHubConfig.ps1') -InstallDir $InstallDir -RedisUrl $spec.redis_url -DatabaseUrl $DatabaseUrl

# 2b. Internal credentials: a NATS key per process and a Redis password per
# user (kept when they exist), the ACL file ExekraHubRedis reads
# (runtime\redis\users.acl), and both closed to everyone but SYSTEM and
# Administrators.
$cred = $spec.credentials
& (Expand-Placeholder $cred.program) @($cred.arguments | ForEach-Object { Expand-Placeholder $_ })
if ($LASTEXITCODE -ne 0) { throw "exekractl credentials failed with exit code $LASTEXITCODE" }
icacls (Join-Path $InstallDir 'var\credentials') /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on var\credentials failed with exit code $LASTEXITCODE" }
icacls (Join-Path $redisDir 'users.acl') /inheritance:r /grant:r '*S-1-5-18:F' '*S-1-5-32-544:F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on runtime\redis\users.acl failed with exit code $LASTEXITCODE" }

# 3. The services, Redis first (the Hub depends on it).
foreach ($svc in $spec.services) {
    $name = $svc.name
    $program = Expand-Placeholder $svc.program
    if (Get-Service -Name $name -ErrorAction SilentlyContinue) {
        Invoke-Nssm @('set', $name, 'Application', $program)
    } else {
        Invoke-Nssm @('install', $name, $program)
    }
    Set-AppParameters $name (Expand-Placeholder $svc.parameters)
    foreach ($setting in $svc.settings) {
        $values = @($setting.value | ForEach-Object { Expand-Placeholder $_ })
        Invoke-Nssm (@('set', $name, $setting.parameter) + $values)
    }
    # Should nssm.exe itself end, Windows restarts the service.
    sc.exe failure $name reset= $spec.recovery.reset_seconds actions= $spec.recovery.actions | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "sc.exe failure $name failed with exit code $LASTEXITCODE" }
    Write-Host "Service $name installed: $program"
}

# 4. Firewall: HTTPS is the only port the Hub serves to other machines.
if (-not $NoFirewallRule) {
    $fw = $spec.firewall
    Remove-NetFirewallRule -Name $fw.name -ErrorAction SilentlyContinue
    New-NetFirewallRule -Name $fw.name -DisplayName $fw.display_name -Direction Inbound -Protocol TCP `
        -LocalPort $fw.port -Program (Expand-Placeholder $fw.program) -Action Allow | Out-Null
    Write-Host "Firewall rule $($fw.name): TCP $($fw.port) inbound to exekra-gateway.exe"
}

# 5. Start (or restart, to apply changed settings).
if (-not $NoStart) {
    foreach ($svc in $spec.services) {
        Restart-Service -Name $svc.name -Force
    }
    Get-Service -Name ($spec.services | ForEach-Object { $_.name }) | Format-Table -AutoSize Name, Status, StartType
}
Write-Host "Logs: $InstallDir\logs (service-hub.log, hub-<service>.log); Redis: $redisDir\redis.log"
Write-Host "Console: https://localhost:$($spec.firewall.port)/"
