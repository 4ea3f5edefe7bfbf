<#
.SYNOPSIS
    Installs xlnapkin's Excel functions for classic Excel on Windows (xlwings add-in + UDFs).

.DESCRIPTION
    1. Finds Python 3.11 or newer (the py launcher first, then python on PATH).
    2. Creates, or reuses, a virtual environment at %LOCALAPPDATA%\xlnapkin\venv (or -VenvDir,
       or where an earlier run put it; made again in place if its Python is gone or too old),
       and records its folder in %USERPROFILE%\.xlnapkin\venv.txt for uninstall.ps1.
    3. pip installs xlnapkin with its "excel" extra into it: by default the wheel beside this
       script (a release folder), else the xlnapkin checkout this script sits in. No package index is
       asked for xlnapkin unless -Source says so; its dependencies (numpy, openpyxl,
       et-xmlfile, olefile, xlwings, pywin32) come from PyPI as usual, or from -FindLinks DIR alone.
    4. `xlnapkin excel addin install` copies the environment's xlwings add-in into Excel's
       XLSTART folder. Unlike `xlwings addin install`, it writes no user-wide xlwings.conf. The
       copy an earlier run of this script put there is upgraded. Another project's add-in is
       kept when it is for the same xlwings version; otherwise the script stops there and says
       what to do: -XlwingsVersion to match it (that project keeps working), or -ReplaceAddin.
       It also deletes a user-wide xlwings.conf that older versions of this script made
       `xlwings addin install` write for the environment's python.exe.
    5. With -Workbook BOOK: `xlnapkin excel install --workbook BOOK` adds xlnapkin.udfs and the
       environment's pythonw.exe to the xlwings.conf in BOOK's folder, which xlwings reads for the
       workbooks there before your own settings. With -User: the same in your user-wide
       %USERPROFILE%\.xlwings\xlwings.conf, appending to the modules listed there and refusing to
       replace another Python unless -ReplaceInterpreter (the Python on PATH too, where none is
       set but other workbooks' modules are listed). With neither, no settings change and
       the command to set a workbook up later is shown.
    Running it again is safe: each step leaves what is already in place alone.
    Undo with uninstall.ps1.

.PARAMETER Source
    What to install. Empty (the default): the xlnapkin-*.whl beside this script, else the
    checkout around it. Or the path of a wheel or a source folder, or a wheel's https address.
    An index only when asked: "pypi" (the latest xlnapkin there) or any pip requirement
    ("xlnapkin[excel]==0.1.0"). Use those only once the project publishes there. A bare version
    number is refused: it would ask PyPI for whatever package holds the name.

.PARAMETER Workbook
    A workbook (.xlsm) to set up. Only the xlwings.conf in its folder changes; other workbooks
    and your user-wide xlwings settings are left alone. Other macro workbooks in the same folder
    keep the modules your user-wide settings list; if those settings name another Python, the
    set-up stops (move the workbook to a folder of its own, or give -ReplaceInterpreter). The
    same for the workbook itself where it has functions of another project: they keep their
    module and need their Python.

.PARAMETER User
    Set xlnapkin up in your user-wide xlwings settings (every workbook without its own) instead.

.PARAMETER ReplaceInterpreter
    Replace another Python already set in that xlwings.conf, or the Python on PATH that the
    modules it lists run in (uninstall puts it back). A line an earlier install wrote is
    xlnapkin's own and is replaced without it.

.PARAMETER ReplaceAddin
    Replace an xlwings add-in that is already in XLSTART (perhaps another project's version,
    which then needs the xlwings version of this environment too). A copy of it is kept in
    %USERPROFILE%\.xlnapkin, and uninstall puts it back.

.PARAMETER XlwingsVersion
    Install this xlwings version (pip's xlwings==VERSION) instead of the newest: the version of
    another project's xlwings add-in already in XLSTART, which the add-in step names when they
    differ. The add-in and the environment's xlwings must be the same version.

.PARAMETER FindLinks
    Install from this folder of wheels alone, asking no package index (pip's --no-index
    --find-links DIR); the installer guide (docs\installer.md in a release,
    installer\README.md in the source) says how to make one for offline PCs. A relative DIR
    is taken from the folder you run the command in.

.PARAMETER DryRun
    Show what would happen. Creates nothing, installs nothing, writes no settings
    (passes --dry-run to `xlnapkin excel install`).

.PARAMETER VenvDir
    Where the virtual environment lives. Default: the folder an earlier run recorded, else
    %LOCALAPPDATA%\xlnapkin\venv. Its path must use only characters of Windows' ANSI code page
    (the xlwings add-in loads its DLL through the ANSI API); where your user name has others,
    give e.g. -VenvDir C:\xlnapkin\venv. It is recorded, so uninstall.ps1 finds it. A new or
    empty folder, or an earlier environment: a folder holding other files is refused
    (uninstall.ps1 -RemoveVenv deletes the whole folder).

.PARAMETER Python
    A Python 3.11+ interpreter to create the environment with, instead of searching for one.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install.ps1 -DryRun

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install.ps1 -Workbook C:\models\serving.xlsm

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install.ps1 -Source .\xlnapkin-0.1.0-py3-none-any.whl -User

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File install.ps1 -FindLinks ..\wheelhouse -Workbook C:\models\serving.xlsm
#>
# Named parameters only: a workbook path given bare is refused, not taken for -Source.
[CmdletBinding(PositionalBinding = $false)]
param(
    [string]$Source = "",
    [switch]$DryRun,
    [string]$VenvDir = "",
    [string]$Python = "",
    [string]$Workbook = "",
    [switch]$User,
    [switch]$ReplaceInterpreter,
    [switch]$ReplaceAddin,
    [string]$XlwingsVersion = "",
    [string]$FindLinks = ""
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = "Stop"

$MinVersion = [version]"3.11"
# pip's platform of the Python: xlwings' add-in DLL comes with its win_amd64 wheels alone.
$PythonPlatform = "win-amd64"
$StateDir = Join-Path $env:LOCALAPPDATA "xlnapkin"
# Where the environment is, for uninstall.ps1 (beside xlnapkin's other records, which
# `xlnapkin excel` keeps in %USERPROFILE%\.xlnapkin).
$VenvRecord = Join-Path $env:USERPROFILE ".xlnapkin\venv.txt"

# The environment folder an earlier run recorded, or "".
function Get-RecordedVenv {
    if (-not (Test-Path -LiteralPath $VenvRecord -PathType Leaf)) { return "" }
    $lines = @([System.IO.File]::ReadAllLines($VenvRecord) | Where-Object { $_.Trim() })
    if ($lines.Count -eq 0) { return "" }
    return $lines[0].Trim()
}

$RecordedVenv = Get-RecordedVenv
$VenvGiven = [bool]$VenvDir
if (-not $VenvDir) { $VenvDir = $RecordedVenv }
if (-not $VenvDir) { $VenvDir = Join-Path $StateDir "venv" }
# Excel starts the interpreter from its own folder: the path written for it must be absolute.
$VenvDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($VenvDir)
# no trailing separator: Windows PowerShell passes "C:\my venv\" to python as C:\my venv" (its
# quoting of native arguments; a review)
$VenvDir = $VenvDir.TrimEnd('\', '/')
if ($VenvDir -match '^[A-Za-z]:$') { $VenvDir += '\' }
$VenvPython = Join-Path $VenvDir "Scripts\python.exe"
$VenvPythonW = Join-Path $VenvDir "Scripts\pythonw.exe"
$XlnapkinExe = Join-Path $VenvDir "Scripts\xlnapkin.exe"
# Written into an environment this script makes, so that a later run (after a failed pip
# install, say) and uninstall.ps1 -RemoveVenv know it is xlnapkin's.
$VenvMarker = Join-Path $VenvDir "xlnapkin-environment.txt"

# The steps in Excel, printed at the end. The release's README.txt repeats these lines
# (xlnapkin/release.py reads them from here): plain text in double quotes, one line each.
$ExcelSteps = @(
    "In Excel, once: File > Options > Trust Center > Trust Center Settings > Macro Settings >",
    "tick 'Trust access to the VBA project object model'. Then open the macro-enabled workbook",
    "(.xlsm) you set up, click Enable Content if Excel says its macros are disabled (or keep it",
    "in a Trusted Location), then: Alt+F11 > Tools > References > tick 'xlwings' > OK; back in",
    "Excel click xlwings > Import Functions, save, and type =NAPKIN_VERSION() in a cell."
)

function Write-Step([string]$Text) { Write-Host "==> $Text" -ForegroundColor Cyan }
function Write-Note([string]$Text) { Write-Host "    $Text" }

# Runs a program and stops the installer when it fails (PowerShell does not, by itself).
function Invoke-Checked([string]$Exe, [string[]]$Arguments, [string]$What) {
    # Its exit code decides: PowerShell ISE turns each line a program writes on stderr (pip's
    # warnings) into an error, which "Stop" would make fatal before the code is read.
    $ErrorActionPreference = "Continue"
    Write-Note ("> " + $Exe + " " + ($Arguments -join " "))
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)." }
}

# Returns @{ Exe; Args; Version; Platform } for an interpreter that answers, or $null. The
# platform is pip's (win-amd64, win32, win-arm64): xlwings' DLL, which the add-in loads from
# beside the Python, comes only with its win-amd64 wheels.
function Test-Python([string]$Exe, [string[]]$PrefixArgs) {
    if (-not (Get-Command $Exe -ErrorAction SilentlyContinue)) { return $null }
    try {
        $out = & $Exe @PrefixArgs -c "import sys, sysconfig; print('%d.%d %s' % (sys.version_info[:2] + (sysconfig.get_platform(),)))" 2>$null
    } catch { return $null }
    # The Microsoft Store "python" stub prints nothing and fails: skip it.
    if ($LASTEXITCODE -ne 0 -or -not $out) { return $null }
    $words = ($out | Select-Object -Last 1).Trim() -split ' '
    try { $ver = [version]$words[0] } catch { return $null }
    $plat = if ($words.Length -gt 1) { $words[1] } else { "" }
    return @{ Exe = $Exe; Args = $PrefixArgs; Version = $ver; Platform = $plat }
}

# True when the ANSI code page of Windows can hold every character of the path: the xlwings add-in
# loads its DLL with LoadLibraryA, so another path cannot work.
function Test-AnsiPath([string]$Path) {
    # The ANSI code page of the system ("Language for non-Unicode programs"), not the format.
    $acp = [int](Get-ItemProperty -LiteralPath "HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage").ACP
    $ansi = [System.Text.Encoding]::GetEncoding($acp)
    return ($ansi.GetString($ansi.GetBytes($Path)) -eq $Path)
}

# Excel processes of this session only (not those of other users on a shared PC).
# PowerShell unrolls what a function returns (none: $null, one: that process), and under
# strict mode only an array has .Count: count them as @(Get-OwnExcel).Count.
function Get-OwnExcel {
    $session = (Get-Process -Id $PID).SessionId
    return @(Get-Process -Name "EXCEL" -ErrorAction SilentlyContinue | Where-Object { $_.SessionId -eq $session })
}

# True when the environment has an xlnapkin with `excel addin` (one installed before it had the
# command answers no; a dry run does not upgrade it).
function Test-AddinCommand {
    if (-not (Test-Path -LiteralPath $XlnapkinExe)) { return $false }
    # Under "Stop", Windows PowerShell 5.1 turns the old one's usage error (stderr) into a throw.
    try { & $XlnapkinExe excel addin --help *> $null } catch { return $false }
    return ($LASTEXITCODE -eq 0)
}

function Find-Python {
    if ($Python) {
        $found = Test-Python $Python @()
        if (-not $found) { throw "-Python '$Python' does not run." }
        if ($found.Version -lt $MinVersion) { throw "-Python '$Python' is $($found.Version); xlnapkin needs $MinVersion or newer." }
        if ($found.Platform -ne $PythonPlatform) { throw "-Python '$Python' is a $($found.Platform) Python; the xlwings add-in needs a 64-bit x86 one ($PythonPlatform): install Python's 'Windows installer (64-bit)' from https://www.python.org/downloads/." }
        return $found
    }
    $tried = @()
    # the launcher's default Python 3 first, then its 64-bit one and each version xlnapkin
    # runs on by name (a review: a 32-bit or older default hid a 64-bit 3.12 beside it), then
    # by tag (-V:3.12, launchers of 3.11 and later: the x64 build, where -64 on ARM64 Windows
    # may give the ARM one)
    foreach ($candidate in @(@("py", @("-3")), @("py", @("-3-64")), @("py", @("-3.14-64")),
                             @("py", @("-3.13-64")), @("py", @("-3.12-64")),
                             @("py", @("-3.11-64")), @("py", @("-V:3.14")), @("py", @("-V:3.13")),
                             @("py", @("-V:3.12")), @("py", @("-V:3.11")), @("python", @()),
                             @("python3", @()))) {
        $found = Test-Python $candidate[0] $candidate[1]
        if ($found) {
            if ($found.Version -ge $MinVersion -and $found.Platform -eq $PythonPlatform) { return $found }
            $tried += "$((@($candidate[0]) + $candidate[1]) -join ' ') is $($found.Version) ($($found.Platform))"
        }
    }
    $why = if ($tried) { " (" + ($tried -join ", ") + ")" } else { "" }
    throw "No 64-bit x86 Python $MinVersion or newer found$why (the xlwings add-in loads a DLL that xlwings has for $PythonPlatform only). Install Python's 'Windows installer (64-bit)' from https://www.python.org/downloads/ (tick 'py launcher'), then run this again, or give -Python the path of its python.exe."
}

# What pip installs. By default the wheel beside this script (a release folder) or the checkout
# around it: no index is asked for xlnapkin, a name a stranger could publish there.
function Get-Requirement([string]$Src) {
    if (-not $Src) {
        $wheels = @(Get-ChildItem -LiteralPath $PSScriptRoot -Filter "xlnapkin-*-py3-none-any.whl")
        if ($wheels.Count -gt 1) { throw "Several xlnapkin wheels beside this script; pick one with -Source <file.whl>." }
        if ($wheels.Count -eq 1) { return $wheels[0].FullName + "[excel]" }
        # the checkout around installer\ (only xlnapkin's: a release folder unpacked inside
        # another project must not install that project)
        $project = Join-Path (Split-Path -Parent $PSScriptRoot) "pyproject.toml"
        if ((Test-Path -LiteralPath $project -PathType Leaf) -and
                (Select-String -LiteralPath $project -Pattern '^\s*name\s*=\s*"xlnapkin"' -Quiet)) {
            return (Split-Path -Parent $PSScriptRoot) + "[excel]"
        }
        throw "No xlnapkin wheel beside this script ($PSScriptRoot) and no checkout around it. Run the install.ps1 of a release folder, or give -Source <file.whl>."
    }
    if ($Src -eq "pypi") { return "xlnapkin[excel]" }
    # A bare version number would ask PyPI for a package named xlnapkin, which this project does
    # not publish: whoever holds the name there would be installed (a delivery check).
    if ($Src -match '^\d+(\.\d+)*([a-zA-Z0-9.+-]*)$') { throw "-Source $($Src): a version number would ask PyPI for a package named xlnapkin, which this project does not publish. Give the wheel file (-Source path\xlnapkin-$Src-py3-none-any.whl), or ask an index on purpose with a pip requirement (-Source 'xlnapkin[excel]==$Src')." }
    if ($Src -match '^https?://') { return "xlnapkin[excel] @ $Src" }
    # A requirement such as "xlnapkin[excel]>=0.1" has characters no path may hold, which
    # Windows PowerShell's Test-Path refuses with an error.
    $isPath = $false
    try { $isPath = Test-Path -LiteralPath $Src } catch { $isPath = $false }
    if ($isPath) {
        # ProviderPath: Path would be "Microsoft.PowerShell.Core\FileSystem::\\server\..." for a
        # network share, which pip cannot read.
        $full = (Resolve-Path -LiteralPath $Src).ProviderPath
        return $full + "[excel]"   # a wheel file or a source folder, with the excel extra
    }
    return $Src                 # any other pip requirement, as given
}

try {
    if ($DryRun) { Write-Host "Dry run: nothing will be created, installed or written." -ForegroundColor Yellow }
    if ($Workbook -and $User) { throw "Give -Workbook or -User, not both." }
    if ($Workbook -and -not (Test-Path -LiteralPath $Workbook -PathType Leaf)) { throw "No such workbook: $Workbook" }
    if ($XlwingsVersion -and $XlwingsVersion -notmatch '^\d+(\.\d+)*([a-zA-Z0-9.+-]*)$') {
        throw "-XlwingsVersion '$XlwingsVersion' is not a version number (say 0.35.1)."
    }
    if ($FindLinks -and -not (Test-Path -LiteralPath $FindLinks -PathType Container)) { throw "No such folder: $FindLinks" }

    # Checked first so that nothing is half done: the add-in file cannot be replaced while Excel
    # has it (and the UDF server) loaded.
    if (@(Get-OwnExcel).Count -gt 0) {
        if ($DryRun) { Write-Note "Excel is running: close it before the real run." }
        else { throw "Excel is running (perhaps hidden: see Task Manager). Save your work, close Excel and run this again." }
    }
    if (-not (Test-AnsiPath $VenvPythonW)) {
        throw "The environment's path $VenvDir has characters the xlwings add-in cannot load from (it uses Windows' ANSI code page). Run this again with -VenvDir C:\xlnapkin\venv (or another folder whose path has only such characters)."
    }

    if ($RecordedVenv -and -not $VenvGiven) {
        Write-Note "using the environment an earlier install recorded in $VenvRecord (-VenvDir picks another)"
    } elseif ($RecordedVenv -and $RecordedVenv -ne $VenvDir) {
        Write-Note "an earlier install used $RecordedVenv; uninstall.ps1 will use $VenvDir (delete the other folder once nothing needs it)"
    }

    # uninstall.ps1 -RemoveVenv deletes the environment folder: it must hold nothing else.
    if ((Test-Path -LiteralPath $VenvDir) -and
            -not (Test-Path -LiteralPath (Join-Path $VenvDir "pyvenv.cfg") -PathType Leaf) -and
            (Get-ChildItem -LiteralPath $VenvDir -Force | Select-Object -First 1)) {
        throw "$VenvDir already holds other files and is not a Python environment. Give -VenvDir a new or empty folder (say C:\xlnapkin\venv)."
    }

    Write-Step "Looking for Python $MinVersion or newer"
    $venvReady = Test-Path -LiteralPath $VenvPython
    $venvFlags = @("-m", "venv")
    # Used or made again only where it is xlnapkin's own (the default folder, the one recorded,
    # one holding xlnapkin or carrying this script's mark): another project's environment is
    # not reused, as pip would change its packages (its xlwings among them) and uninstall.ps1
    # -RemoveVenv would delete it (an audit); --clear would delete everything in it.
    $ours = (($VenvDir -eq (Join-Path $StateDir "venv")) -or ($RecordedVenv -eq $VenvDir) -or
        (Test-Path -LiteralPath $XlnapkinExe) -or (Test-Path -LiteralPath $VenvMarker))
    if ((Test-Path -LiteralPath (Join-Path $VenvDir "pyvenv.cfg") -PathType Leaf) -and -not $ours) {
        throw "$VenvDir is a Python environment that is not xlnapkin's (another project's?): installing into it would change its packages, its xlwings among them, and uninstall.ps1 -RemoveVenv would delete it. Give -VenvDir a new or empty folder (say C:\xlnapkin\venv)."
    }
    if ($venvReady) {
        $venvInfo = Test-Python $VenvPython @()
        if ($venvInfo -and $venvInfo.Version -ge $MinVersion -and $venvInfo.Platform -eq $PythonPlatform) {
            Write-Note "reusing $VenvDir (Python $($venvInfo.Version))"
        } else {
            # Its Python was uninstalled or is too old: the environment is made again in place,
            # so the xlwings settings that name its pythonw.exe, and uninstall.ps1, work again.
            $why = if ($venvInfo) { "its Python is $($venvInfo.Version) ($($venvInfo.Platform))" } else { "its Python does not start" }
            Write-Note "$VenvDir exists but $($why): it is made again"
            $venvReady = $false
            $venvFlags = @("-m", "venv", "--clear")
        }
    }
    if (-not $venvReady) {
        $py = Find-Python
        Write-Note "found $($py.Exe) $($py.Args -join ' ') (Python $($py.Version))"
        Write-Step "Creating the environment $VenvDir"
        if ($DryRun) {
            Write-Note "would run: $($py.Exe) $($py.Args -join ' ') $($venvFlags -join ' ') `"$VenvDir`""
        } else {
            Invoke-Checked $py.Exe ($py.Args + $venvFlags + @($VenvDir)) "Creating the virtual environment"
            # The Python of the Microsoft Store redirects new folders under %LOCALAPPDATA% into its
            # own package folder, where neither this script nor Excel finds them.
            if (-not (Test-Path -LiteralPath $VenvPython)) {
                throw "$($py.Exe) reported success but $VenvPython does not exist (the Microsoft Store's Python moves such folders). Install Python from https://www.python.org/downloads/, or run this again with -VenvDir C:\xlnapkin\venv."
            }
            [System.IO.File]::WriteAllText($VenvMarker, "Made by xlnapkin's install.ps1; uninstall.ps1 -RemoveVenv deletes this folder.`r`n", (New-Object System.Text.UTF8Encoding $false))
        }
    }

    $requirement = Get-Requirement $Source
    $pipArgs = @("-m", "pip", "install", "--disable-pip-version-check", "--upgrade")
    # A wheelhouse alone: pip asks no index for anything.
    if ($FindLinks) {
        # no trailing separator: Windows PowerShell would pass "C:\My Wheels\" to pip with a
        # quote at its end (a review); a drive's root as C:\.
        $links = (Resolve-Path -LiteralPath $FindLinks).ProviderPath.TrimEnd('\', '/')
        if ($links -match '^[A-Za-z]:$') { $links += '\.' }
        $pipArgs += @("--no-index", "--find-links", $links)
    }
    $pipArgs += $requirement
    # pip keeps an installed xlnapkin of the same version as the wheel ("already installed"):
    # a wheel rebuilt at that version (xlnapkin release --force) goes in over it, its
    # dependencies as they are (a local file and no dependencies: no index is asked).
    $overArgs = @()
    if ($requirement.EndsWith(".whl[excel]")) {
        $overArgs = @("-m", "pip", "install", "--disable-pip-version-check", "--force-reinstall", "--no-deps", $requirement.Substring(0, $requirement.Length - "[excel]".Length))
    }
    # The version of another project's add-in in XLSTART (see -XlwingsVersion).
    if ($XlwingsVersion) { $pipArgs += "xlwings==$XlwingsVersion" }
    Write-Step "Installing $requirement"
    if ($DryRun) {
        Write-Note "would run: `"$VenvPython`" $($pipArgs -join ' ')"
        if (@($overArgs).Count -gt 0) { Write-Note "would run: `"$VenvPython`" $($overArgs -join ' ')" }
        Write-Note "would record $VenvDir in $VenvRecord"
    } else {
        # pip's dependencies (numpy, openpyxl, xlwings) come from an index unless -FindLinks:
        # a PC that reaches none (offline, a proxy) needs a folder of wheels (an audit: the
        # failure named no way out)
        try { Invoke-Checked $VenvPython $pipArgs "pip install" }
        catch {
            if ($FindLinks) { throw }
            throw "$($_.Exception.Message) If this PC cannot reach the Python package index (offline, or behind a proxy pip is not set up for), run this again with -FindLinks and a folder of the wheels it needs (the installer's README, docs\installer.md in a release, says how to make one on a PC that can, under 'A PC without PyPI')."
        }
        if (@($overArgs).Count -gt 0) { Invoke-Checked $VenvPython $overArgs "pip install of this wheel over the installed one" }
        # For uninstall.ps1, which cannot ask xlnapkin where xlnapkin is.
        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $VenvRecord) | Out-Null
        [System.IO.File]::WriteAllText($VenvRecord, $VenvDir + "`r`n", (New-Object System.Text.UTF8Encoding $false))
        Write-Note "recorded $VenvDir in $VenvRecord (uninstall.ps1 reads it)"
    }

    # Before the settings: it also deletes the user-wide xlwings.conf that older versions of
    # this script made `xlwings addin install` write, which -User would take for another Python.
    Write-Step "Installing the xlwings add-in into Excel's XLSTART folder"
    $addinArgs = @("excel", "addin", "install", "--python", $VenvPythonW)
    if ($ReplaceAddin) { $addinArgs += "--replace" }
    if ($DryRun) { $addinArgs += "--dry-run" }
    if (Test-AddinCommand) {
        Invoke-Checked $XlnapkinExe $addinArgs "xlnapkin excel addin install"
    } elseif ($DryRun) {
        Write-Note "would run: `"$XlnapkinExe`" $($addinArgs -join ' ')"
    } else {
        throw "The xlnapkin in $VenvDir has no 'excel addin' command, so the install above did not take."
    }

    Write-Step "Pointing xlwings at xlnapkin (UDF MODULES and INTERPRETER_WIN)"
    $setupArgs = @("excel", "install", "--python", $VenvPythonW)
    if ($Workbook) { $setupArgs += @("--workbook", $Workbook) }
    if ($User) { $setupArgs += "--user" }
    if ($ReplaceInterpreter) { $setupArgs += "--replace-interpreter" }
    if ($DryRun) { $setupArgs += "--dry-run" }
    if (-not $Workbook -and -not $User) {
        Write-Note "skipped: no -Workbook (or -User) given, so no xlwings settings change."
    } elseif (Test-Path -LiteralPath $XlnapkinExe) {
        # Runs for real in a dry run too: with --dry-run it only prints the planned changes.
        Invoke-Checked $XlnapkinExe $setupArgs "xlnapkin excel install"
    } else {
        Write-Note "would run: `"$XlnapkinExe`" $($setupArgs -join ' ')"
    }

    Write-Host ""
    if ($DryRun) {
        Write-Host "Dry run finished; nothing was changed." -ForegroundColor Green
    } else {
        Write-Host "xlnapkin is installed for Excel." -ForegroundColor Green
        if (-not $Workbook -and -not $User) {
            Write-Host "Next: set a workbook up (only the xlwings.conf in its folder changes):"
            Write-Host "  powershell -ExecutionPolicy Bypass -File install.ps1 -Workbook C:\path\to\Book.xlsm"
        }
        foreach ($line in $ExcelSteps) { Write-Host $line }
        Write-Host "Undo: powershell -ExecutionPolicy Bypass -File uninstall.ps1 [-Workbook C:\path\to\Book.xlsm]"
    }
    exit 0
} catch {
    Write-Host ""
    Write-Host "ERROR: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host "Nothing after this step was done; fix the problem and run install again (it is safe to repeat)."
    exit 1
}
