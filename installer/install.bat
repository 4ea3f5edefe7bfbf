@echo off
rem Runs the PowerShell script of this file's name beside it (install.ps1; the release also
rem ships this file as uninstall.bat, which runs uninstall.ps1) with the execution policy
rem bypassed for this run only. Arguments pass through, e.g.:  install.bat -DryRun
setlocal
rem Opened from inside a zip, Windows extracts only this file: say so instead of failing.
rem (No parenthesised block: a name such as "install (1).bat" would close it early.)
if exist "%~dpn0.ps1" goto run
echo %~n0.ps1 is not beside %~nx0. Extract the whole zip first, then run %~nx0 from that folder.
if not defined XLNAPKIN_NO_PAUSE pause
exit /b 1
:run
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dpn0.ps1" %*
set "XLNAPKIN_RC=%ERRORLEVEL%"
rem Deployment tools that run it unattended (cmd /c install.bat) set XLNAPKIN_NO_PAUSE=1.
if defined XLNAPKIN_NO_PAUSE exit /b %XLNAPKIN_RC%
rem Keep the window open when started by double-click, so the messages can be read.
rem The quotes are dropped first, so a folder name with "&" in it cannot split the line.
set "XLNAPKIN_CMD=%CMDCMDLINE:"=%"
setlocal EnableDelayedExpansion
if /i not "!XLNAPKIN_CMD:%~nx0=!"=="!XLNAPKIN_CMD!" pause
exit /b %XLNAPKIN_RC%
