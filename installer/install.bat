@echo off
rem Runs the PowerShell script of this file's name beside it (install.ps1; the release also
rem ships this file as uninstall.bat, which runs uninstall.ps1) with the execution policy
rem bypassed for this run only. Arguments pass through, e.g.:  install.bat -DryRun
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dpn0.ps1" %*
set "XLNAPKIN_RC=%ERRORLEVEL%"
rem Keep the window open when started by double-click, so the messages can be read.
echo %CMDCMDLINE% | find /i "%~nx0" >nul && pause
exit /b %XLNAPKIN_RC%
