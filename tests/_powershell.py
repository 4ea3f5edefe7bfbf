"""A static check of the installer's PowerShell scripts, which no machine here can run.

The scripts are parsed with tree-sitter's PowerShell grammar (the ``tree-sitter-powershell``
package). What the check finds is what would stop them on a user's PC: text the parser cannot
read, a variable read but never set (the scripts run under ``Set-StrictMode -Version 2.0``,
where that is an error), a command that is neither one of the script's functions nor a cmdlet
that ships with Windows PowerShell 5.1, a call to one of the script's functions that passes
what the function does not declare, and ``.Count`` of something that may not be an array.

That last one: since PowerShell 3 a scalar's ``Count`` is 1 and ``$null``'s is 0, but not
under strict mode, where both throw "The property 'Count' cannot be found on this object"
(a PowerShell developer's answer on Stack Overflow, question 26504589; PowerShell/PowerShell
issue 2798, still open). A command or function that outputs one object gives that object, and
one that outputs none gives ``$null``, so ``(Get-Thing).Count`` stops the script exactly when
there are zero or one things. ``@(Get-Thing).Count`` is always an array's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

# Variables PowerShell sets itself (about_Automatic_Variables, about_Preference_Variables).
AUTOMATIC = frozenset({
    "_", "psitem", "null", "true", "false", "lastexitcode", "pid", "psscriptroot",
    "pscommandpath", "executioncontext", "args", "error", "host", "psversiontable", "input",
    "matches", "erroractionpreference", "pscmdlet", "psboundparameters",
})

# Cmdlets the scripts may use: each ships with Windows PowerShell 5.1 in the modules
# Microsoft.PowerShell.Core, .Management and .Utility (learn.microsoft.com, "PowerShell 5.1
# module browser"). A name outside this list and the script's own functions is a typo.
CMDLETS = frozenset(name.lower() for name in (
    "ForEach-Object", "Where-Object", "Set-StrictMode", "Get-Command",                # Core
    "Get-ChildItem", "Get-Item", "Get-ItemProperty", "Get-Process", "Join-Path",      # Management
    "New-Item", "Remove-Item", "Resolve-Path", "Split-Path", "Test-Path", "Copy-Item",
    "Move-Item", "Set-Content", "Get-Content",
    "New-Object", "Out-Null", "Select-Object", "Write-Host", "Write-Output",          # Utility
    "Write-Warning", "Sort-Object", "Measure-Object", "Select-String",
))


@dataclass
class Findings:
    """What `check` found in one script; every list empty means it found nothing wrong."""

    unreadable: list[str] = field(default_factory=list)
    unset_variables: list[str] = field(default_factory=list)
    unknown_commands: list[str] = field(default_factory=list)
    bad_calls: list[str] = field(default_factory=list)
    scalar_counts: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (self.unreadable + self.unset_variables + self.unknown_commands + self.bad_calls
                + self.scalar_counts)


def _walk(node, kind):
    """The nodes of one kind under node, in order (every node when kind is None)."""
    if kind is None or node.type == kind:
        yield node
    for child in node.children:
        yield from _walk(child, kind)


def _variable(text: str) -> tuple[str, str]:
    """``$env:PATH`` -> ("env", "path"); ``@Args`` -> ("", "args"); names are case-insensitive."""
    scope, _, name = text.lstrip("$@").strip("{}").rpartition(":")
    return scope.lower(), name.lower()


def _is_set_here(node) -> bool:
    """True where a variable node is written: an assignment's target, a parameter, a loop's."""
    if node.parent.type in ("script_parameter", "foreach_statement"):
        return True
    up = node.parent
    while up is not None and up.type not in ("pipeline", "statement_list"):
        if up.type == "left_assignment_expression":
            return True
        up = up.parent
    return False


def _parameters(node, source: bytes) -> list[str]:
    return [_variable(_text(v, source))[1]
            for p in _walk(node, "script_parameter") for v in p.children if v.type == "variable"]


def _text(node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8")


def check(source: bytes) -> Findings:
    """Reads one script's text and reports what would stop it when it runs."""
    found = Findings()
    root = PARSER.parse(source).root_node

    def where(node) -> str:
        return f"line {node.start_point[0] + 1}"

    for node in _walk(root, "ERROR"):
        found.unreadable.append(f"{where(node)}: cannot parse {_text(node, source)[:60]!r}")
    for node in _walk(root, None):
        if node.is_missing:
            found.unreadable.append(f"{where(node)}: {node.type!r} missing")
    if root.has_error and not found.unreadable:
        found.unreadable.append("the parser reports an error")

    written, read = set(), {}
    for node in _walk(root, "variable"):
        scope, name = _variable(_text(node, source))
        if scope == "env":
            continue
        if _is_set_here(node):
            written.add(name)
        else:
            read.setdefault(name, node)
    found.unset_variables = [f"{where(n)}: ${name} is read but never set"
                             for name, n in read.items() if name not in written | AUTOMATIC]

    # The script's own parameters: its top-level param() block.
    for child in root.children:
        for block in _walk(child, "param_block"):
            found.parameters = _parameters(block, source)
            break

    functions = {}
    for node in _walk(root, "function_statement"):
        name = next(c for c in node.children if c.type == "function_name")
        declared = next((c for c in node.children if c.type == "function_parameter_declaration"),
                        None)
        functions[_text(name, source).lower()] = (
            _parameters(declared, source) if declared is not None else [])

    for node in _walk(root, "command"):
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        if name_node is None:   # `& $exe ...`: the program is a variable
            continue
        name = _text(name_node, source).lower()
        if name not in functions:
            if name not in CMDLETS:
                found.unknown_commands.append(f"{where(node)}: no command {name!r}")
            continue
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        items = [] if elements is None else [
            c for c in elements.children if c.type not in ("command_argument_sep", "comment")]
        params = functions[name]
        # `-Name value` binds value to Name (the scripts' functions declare no switches).
        named, positional, i = [], [], 0
        while i < len(items):
            if items[i].type == "command_parameter":
                named.append(_text(items[i], source)[1:].rstrip(":").lower())
                i += 2
            else:
                positional.append(items[i])
                i += 1
        for word in named:
            if word not in params:
                found.bad_calls.append(f"{where(node)}: {name} has no parameter -{word}")
        if len(positional) + len(named) > len(params):
            found.bad_calls.append(f"{where(node)}: {name} takes {len(params)} arguments, "
                                   f"given {len(positional) + len(named)}")
        for arg in positional[:1]:
            text = _text(arg, source)
            if text.startswith("(") and "," in text and name_node.end_byte == arg.start_byte:
                found.bad_calls.append(f"{where(node)}: {name}(a, b) passes one array; "
                                       f"call it as {name} a b")
    found.scalar_counts = _scalar_counts(root, source)
    return found


def _scalar_counts(root, source: bytes) -> list[str]:
    """``.Count`` of anything but ``@(...)`` or a variable only ever set to one (or declared
    as an array parameter, or appended to with ``+=``)."""
    arrays, other = set(), set()
    for node in _walk(root, "assignment_expression"):
        target = next(_walk(node.children[0], "variable"), None)
        if target is None:
            continue
        name = _variable(_text(target, source))[1]
        operator = _text(node.children[1], source).strip()
        value = _text(node.children[2], source).strip()
        (arrays if operator == "+=" or value.startswith("@(") else other).add(name)
    for node in _walk(root, "script_parameter"):
        typed = "".join(_text(c, source) for c in node.children if c.type == "attribute_list")
        name = _variable(_text(next(_walk(node, "variable")), source))[1]
        (arrays if "[]]" in typed else other).add(name)
    wrong = []
    for node in _walk(root, "member_access"):
        member = node.children[-1]
        if _text(member, source).lower() != "count":
            continue
        target = node.children[0]
        text = _text(target, source)
        if target.type == "array_expression":
            continue
        if target.type == "variable":
            name = _variable(text)[1]
            if name in arrays and name not in other:
                continue
        wrong.append(f"line {node.start_point[0] + 1}: {text}.Count fails under strict mode when "
                     f"it is one object or none; write @({text.strip('()')}).Count")
    return wrong
