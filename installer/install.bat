@echo off
rem Runs install.ps1 (next to this file) with the execution policy bypassed for this run only.
rem Arguments pass through, e.g.:  install.bat -DryRun    install.bat -Source 0.1.0
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
set "XLNAPKIN_RC=%ERRORLEVEL%"
rem Keep the window open when started by double-click, so the messages can be read.
echo %CMDCMDLINE% | find /i "%~nx0" >nul && pause
exit /b %XLNAPKIN_RC%
