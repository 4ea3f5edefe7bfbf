<#
.SYNOPSIS
    Undoes install.ps1: puts your xlwings settings back and removes the xlwings add-in.

.DESCRIPTION
    1. Runs `xlnapkin excel uninstall` for each -Workbook given (its folder's xlwings.conf), for
       every other workbook folder install.ps1 -Workbook set up (`--recorded`), and for your
       user-wide %USERPROFILE%\.xlwings\xlwings.conf (nothing happens to a file that xlnapkin
       did not change). Each comes back exactly as it was before install (or is deleted
       if there was none; if you edited it since, only xlnapkin's own changes are reversed).
    2. Runs `xlnapkin excel addin remove`: removes the xlwings add-in only if install.ps1 put
       it there and nothing replaced it since, and your user-wide xlwings.conf lists no other
       UDF modules (otherwise it is left for your other xlwings work; -RemoveAddin removes it
       anyway). A user-wide xlwings.conf that older versions of install.ps1 made xlwings write
       for xlnapkin's Python goes too.
    3. With -RemoveVenv, deletes the environment.
    The environment is the one install.ps1 recorded in %USERPROFILE%\.xlnapkin\venv.txt (so an
    install with -VenvDir is found), else %LOCALAPPDATA%\xlnapkin\venv; -VenvDir names it. If
    xlnapkin is not there, or does not start (its Python was uninstalled), nothing is undone:
    the script says so and exits with code 1. -RemoveVenv then deletes the environment only
    where xlnapkin recorded no change to your settings (a failed install); otherwise it says how
    to repair the environment (install.ps1 again) or undo by hand first.
    Running it again is safe: where the environment is gone and nothing xlnapkin records is
    left (its add-in record, its list of workbook folders, the user-wide settings' state file,
    the environment's record), there is nothing to undo, and it says so with exit code 0.

.PARAMETER Workbook
    Workbooks set up with install.ps1 -Workbook (one or more, comma-separated with no spaces,
    or the list in quotes; a path naming an existing file is taken whole): undo the xlwings.conf in each one's folder. Not needed for folders
    this install set up: they are recorded and undone anyway.

.PARAMETER DryRun
    Show what would happen and change nothing (passes --dry-run to `xlnapkin excel uninstall`).

.PARAMETER RemoveVenv
    Also delete the virtual environment and its record (and %LOCALAPPDATA%\xlnapkin and
    %USERPROFILE%\.xlnapkin when they are then empty). Only xlnapkin's Python environment is
    deleted: a folder with a pyvenv.cfg that is the default one, the one recorded, holds
    xlnapkin or carries install.ps1's mark (xlnapkin-environment.txt).

.PARAMETER RemoveAddin
    Remove the xlwings add-in even if it is not the copy install.ps1 put there.

.PARAMETER VenvDir
    Where the virtual environment lives. Default: the folder install.ps1 recorded, else
    %LOCALAPPDATA%\xlnapkin\venv.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File uninstall.ps1 -DryRun

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File uninstall.ps1 -Workbook C:\models\serving.xlsm -RemoveVenv
#>
# No positional parameters: a second workbook path typed after -Workbook must not become
# -VenvDir (which -RemoveVenv deletes).
[CmdletBinding(PositionalBinding = $false)]
param(
    [string[]]$Workbook = @(),
    [switch]$DryRun,
    [switch]$RemoveVenv,
    [switch]$RemoveAddin,
    [string]$VenvDir = ""
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = "Stop"

# What no script can undo: each workbook set up keeps the functions xlwings imported into it and
# its reference to the add-in (an audit: a MISSING reference stops the workbook's own macros).
$WorkbookSteps = @(
    "In each workbook you set up, xlwings' imported functions and the reference to the xlwings",
    "add-in stay until you remove them: open it, Alt+F11, right-click the module xlwings_udfs >",
    "Remove, then Tools > References > untick xlwings (unless your own macros use it), and save.",
    "A reference to an add-in that is gone shows as MISSING and stops the workbook's macros."
)

# "a.xlsm,b.xlsm" arrives as one string under powershell -File: split it here, unless the
# whole string names a file (a folder such as "Q1, 2025" may hold a comma).
$Workbook = @($Workbook | ForEach-Object {
        $whole = $false
        try { $whole = Test-Path -LiteralPath $_ -PathType Leaf } catch { $whole = $false }
        if ($whole) { $_ } else { $_ -split "," }
    } | ForEach-Object { $_.Trim() } | Where-Object { $_ })

$StateDir = Join-Path $env:LOCALAPPDATA "xlnapkin"
# Where install.ps1 recorded the environment (it may have been given -VenvDir).
$VenvRecord = Join-Path $env:USERPROFILE ".xlnapkin\venv.txt"

# The environment folder install.ps1 recorded, or "".
function Get-RecordedVenv {
    if (-not (Test-Path -LiteralPath $VenvRecord -PathType Leaf)) { return "" }
    $lines = @([System.IO.File]::ReadAllLines($VenvRecord) | Where-Object { $_.Trim() })
    if ($lines.Count -eq 0) { return "" }
    return $lines[0].Trim()
}

$RecordedVenv = Get-RecordedVenv
$VenvFrom = "given with -VenvDir"
if (-not $VenvDir -and $RecordedVenv) { $VenvDir = $RecordedVenv; $VenvFrom = "recorded in $VenvRecord" }
if (-not $VenvDir) { $VenvDir = Join-Path $StateDir "venv"; $VenvFrom = "the default; nothing is recorded in $VenvRecord" }
$VenvDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($VenvDir)
# no trailing separator, as install.ps1 records it (a review: "C:\x\venv\" did not match the
# record, so -RemoveVenv deleted the folder and kept venv.txt, and the next run exited 1)
$VenvDir = $VenvDir.TrimEnd('\', '/')
if ($VenvDir -match '^[A-Za-z]:$') { $VenvDir += '\' }
$XlnapkinExe = Join-Path $VenvDir "Scripts\xlnapkin.exe"
$VenvMarker = Join-Path $VenvDir "xlnapkin-environment.txt"  # install.ps1 writes it
$AddinPath = Join-Path $env:APPDATA "Microsoft\Excel\XLSTART\xlwings.xlam"

function Write-Step([string]$Text) { Write-Host "==> $Text" -ForegroundColor Cyan }
function Write-Note([string]$Text) { Write-Host "    $Text" }

# Excel processes of this session only (not those of other users on a shared PC).
# PowerShell unrolls what a function returns (none: $null, one: that process), and under
# strict mode only an array has .Count: count them as @(Get-OwnExcel).Count.
function Get-OwnExcel {
    $session = (Get-Process -Id $PID).SessionId
    return @(Get-Process -Name "EXCEL" -ErrorAction SilentlyContinue | Where-Object { $_.SessionId -eq $session })
}

# True when the environment's xlnapkin starts (its Python may have been uninstalled since).
function Test-Xlnapkin {
    if (-not (Test-Path -LiteralPath $XlnapkinExe -PathType Leaf)) { return $false }
    try { & $XlnapkinExe --version *> $null } catch { return $false }
    return ($LASTEXITCODE -eq 0)
}

# Delete the environment folder, its record (where it names this folder) and empty state folders.
# Only xlnapkin's Python environment is deleted, whatever -VenvDir names: pyvenv.cfg in it, and
# the default folder, the one recorded, xlnapkin in it or install.ps1's mark (an audit: another
# project's environment, named by -VenvDir, was deleted).
function Remove-Venv {
    if (-not (Test-Path -LiteralPath (Join-Path $VenvDir "pyvenv.cfg") -PathType Leaf)) {
        throw "$VenvDir is not a Python environment (no pyvenv.cfg in it), so -RemoveVenv does not delete it. Check -VenvDir; delete the folder by hand if it is yours to delete."
    }
    $ours = (($VenvDir -eq (Join-Path $StateDir "venv")) -or ($RecordedVenv -eq $VenvDir) -or
        (Test-Path -LiteralPath $XlnapkinExe) -or (Test-Path -LiteralPath $VenvMarker))
    if (-not $ours) {
        throw "$VenvDir is a Python environment that xlnapkin did not make (no xlnapkin in it, no record of it), so -RemoveVenv does not delete it. Check -VenvDir; delete the folder by hand if it is yours to delete."
    }
    if ($DryRun) { Write-Note "would delete $VenvDir"; return }
    Remove-Item -LiteralPath $VenvDir -Recurse -Force
    if ($RecordedVenv -eq $VenvDir) { Remove-Item -LiteralPath $VenvRecord -Force }
    foreach ($folder in @($StateDir, (Split-Path -Parent $VenvRecord))) {
        if ((Test-Path -LiteralPath $folder) -and -not (Get-ChildItem -LiteralPath $folder -Force)) {
            Remove-Item -LiteralPath $folder -Force
        }
    }
}

function Invoke-Checked([string]$Exe, [string[]]$Arguments, [string]$What) {
    # Its exit code decides (PowerShell ISE turns a program's stderr lines into errors).
    $ErrorActionPreference = "Continue"
    Write-Note ("> " + $Exe + " " + ($Arguments -join " "))
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)." }
}

try {
    if ($DryRun) { Write-Host "Dry run: nothing will be changed." -ForegroundColor Yellow }
    if (@(Get-OwnExcel).Count -gt 0) {
        if ($DryRun) { Write-Note "Excel is running: close it before the real run." }
        else { throw "Excel is running (perhaps hidden: see Task Manager). Save your work, close Excel and run this again." }
    }
    # Without a working xlnapkin nothing can be undone: its records say what it changed. A
    # folder left by a failed install, or whose Python is gone, can still be deleted with
    # -RemoveVenv.
    $runs = Test-Xlnapkin
    # What install.ps1 and xlnapkin record: while any of it is left, something may be undone.
    $records = @((Join-Path $env:USERPROFILE ".xlnapkin\addin.json"),
                 (Join-Path $env:USERPROFILE ".xlnapkin\workbooks.txt"),
                 (Join-Path $env:USERPROFILE ".xlwings\xlwings.conf.xlnapkin-state.json"),
                 $VenvRecord) | Where-Object { Test-Path -LiteralPath $_ }
    # Settings xlnapkin changed (the environment's own record aside): deleting the environment
    # that can put them back would leave them for good, so it is refused until they are undone.
    $changed = @($records | Where-Object { $_ -ne $VenvRecord })
    $repair = "Repair it first: run install.ps1 again with the same -VenvDir (it makes the environment again and keeps your settings' records), then run this again."
    $byHand = "By hand: the xlwings.conf.xlnapkin-backup-* beside a changed xlwings.conf is the old file (with no backup beside it, xlnapkin made that xlwings.conf: delete it); the add-in is xlwings.xlam in " + (Split-Path -Parent $AddinPath) + " (where xlnapkin replaced another project's, that one is xlwings.xlam.before-xlnapkin in " + (Join-Path $env:USERPROFILE ".xlnapkin") + ")."
    if (-not $runs -and $RemoveVenv -and (Test-Path -LiteralPath $VenvDir) -and $changed.Count -gt 0) {
        throw ("xlnapkin in $VenvDir does not start (was its Python uninstalled?), and it is what puts back the settings it changed, so the environment is not deleted. $repair $byHand Then delete " + ($changed -join ", ") + " and run this again with -RemoveVenv.")
    }
    if (-not $runs -and $RemoveVenv -and (Test-Path -LiteralPath $VenvDir)) {
        Write-Step "Deleting the environment $VenvDir (no working xlnapkin in it: nothing else to undo)"
        Remove-Venv
        Write-Host ""
        if ($DryRun) { Write-Host "Dry run finished; nothing was changed." -ForegroundColor Green }
        else { Write-Host "Deleted $VenvDir." -ForegroundColor Green }
        exit 0
    }
    if (-not $runs -and -not (Test-Path -LiteralPath $VenvDir) -and @($records).Count -eq 0) {
        # Run twice, or never installed here, and nothing recorded: nothing to undo is no
        # failure (deployment tools read the exit code).
        Write-Host ""
        Write-Host "xlnapkin is not installed in $VenvDir ($VenvFrom): nothing to undo. If you installed it with -VenvDir, run this again with the same -VenvDir." -ForegroundColor Green
        exit 0
    }
    if (-not $runs) {
        $why = "xlnapkin is not installed in $VenvDir ($VenvFrom), so there is nothing to undo with it."
        if (Test-Path -LiteralPath $XlnapkinExe) { $why = "xlnapkin in $VenvDir ($VenvFrom) does not start (was its Python uninstalled?), so there is nothing to undo with it." }
        $why += " If you installed it with -VenvDir, run this again with the same -VenvDir."
        if ((Test-Path -LiteralPath $VenvDir) -and $changed.Count -gt 0) { $why += " $repair" }
        elseif (Test-Path -LiteralPath $VenvDir) { $why += " If $VenvDir is left from a failed install, run this again with -RemoveVenv." }
        $why += " $byHand"
        throw $why
    }
    Write-Note "xlnapkin in $VenvDir ($VenvFrom)"

    Write-Step "Restoring your xlwings settings (xlwings.conf)"
    # Each workbook folder given, then the user-wide file (a no-op unless xlnapkin changed it).
    $scopes = @()
    foreach ($book in $Workbook) { $scopes += ,@("--workbook", $book) }
    # every other folder install.ps1 -Workbook set up (xlnapkin keeps the list)
    $scopes += ,@("--recorded")
    $scopes += ,@("--user")
    foreach ($scope in $scopes) {
        $setupArgs = @("excel", "uninstall") + $scope
        if ($DryRun) { $setupArgs += "--dry-run" }
        Invoke-Checked $XlnapkinExe $setupArgs "xlnapkin excel uninstall"
    }

    Write-Step "Removing the xlwings add-in"
    $addinArgs = @("excel", "addin", "remove")
    if ($RemoveAddin) { $addinArgs += "--replace" }
    if ($DryRun) { $addinArgs += "--dry-run" }
    $hasAddinCommand = $false
    # An older xlnapkin answers with a usage error, which Windows PowerShell 5.1 throws.
    try {
        & $XlnapkinExe excel addin --help *> $null
        $hasAddinCommand = ($LASTEXITCODE -eq 0)
    } catch { $hasAddinCommand = $false }
    if ($hasAddinCommand) {
        Invoke-Checked $XlnapkinExe $addinArgs "xlnapkin excel addin remove"
    } elseif (Test-Path -LiteralPath $AddinPath) {
        Write-Note "the xlnapkin in $VenvDir predates 'xlnapkin excel addin', so it cannot tell"
        Write-Note "whose $AddinPath is; left in place. Run this release's install.ps1 once"
        Write-Note "and uninstall again, or delete the file if no other xlwings work needs it."
    } else {
        Write-Note "not installed ($AddinPath); nothing to do."
    }

    if ($RemoveVenv) {
        Write-Step "Deleting the environment $VenvDir"
        Remove-Venv
    } else {
        Write-Note "kept the environment $VenvDir (use -RemoveVenv to delete it)."
    }

    Write-Host ""
    if ($DryRun) { Write-Host "Dry run finished; nothing was changed." -ForegroundColor Green }
    else {
        Write-Host "xlnapkin is removed from Excel." -ForegroundColor Green
        foreach ($line in $WorkbookSteps) { Write-Host $line }
    }
    exit 0
} catch {
    Write-Host ""
    Write-Host "ERROR: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host "Fix the problem and run uninstall again (it is safe to repeat)."
    exit 1
}
