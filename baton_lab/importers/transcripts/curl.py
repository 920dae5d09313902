"""Shell command → the baton API calls it makes, with their JSON payloads when they can be recovered.

Handled: `curl … /v1/baton/read|write` with `-d/--data/--data-raw/--data-binary/--json '…'` (single-quoted
JSON with `'\\''` escapes, double quotes, glued `-d'…'`, `--data=…`), `-d @file` (a file the transcript
wrote earlier, or a heredoc `cat > file <<'EOF'` in the same command), `-d @-` fed by a heredoc or by
`echo`/`printf`/`cat <<EOF` in the pipeline, and `"$VAR"` assigned earlier in the same command (`VAR='…'`,
`VAR=$(cat <<'EOF' … EOF)`). Python, node or jq doing the call, or `$(…)` building the payload, cannot be
replayed: the call is still reported, with the reason its payload is unrecoverable.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import ChainMap
from dataclasses import dataclass
from typing import Any, Mapping

ENDPOINT = re.compile(r"/v1/baton/(read|write)\b")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_OPERATORS = {";", "&&", "||", "|", "&", "\n", ";;", "|&"}
_DATA_OPTIONS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json", "--data-urlencode"}
_VALUE_OPTIONS = {"-H", "--header", "-X", "--request", "-o", "--output", "-w", "--write-out", "-u", "--user",
                  "-m", "--max-time", "--connect-timeout", "-A", "--user-agent", "-e", "--referer", "-b", "--cookie",
                  "-c", "--cookie-jar", "--retry", "-x", "--proxy", "--cacert", "--cert", "--key", "-K", "--config",
                  "--resolve", "--unix-socket"}
_SCRIPTED_REQUEST = re.compile(r"urlopen|urllib|requests\.(?:post|get)|httpx|fetch\(|http\.client|aiohttp|\bwget\b|\bhttp\s+(?:POST|post)\b")
_SCRIPTER = re.compile(r"\b(?:python3?|node|ruby|perl|deno|bun|wget|http)\b")


@dataclass(slots=True)
class ShellCall:
    """One baton API call found in a command. `payload` is the request body when recovered."""

    op: str  # read | write
    payload: dict[str, Any] | None
    problem: str | None = None  # why the payload could not be recovered (None when it was, or not needed)


@dataclass(slots=True)
class ParsedCommand:
    calls: list[ShellCall]
    files: dict[str, str]  # files this command writes with a heredoc (`cat > f <<'EOF'`)


def _unescape_continuations(command: str) -> str:
    return command.replace("\\\r\n", " ").replace("\\\n", " ")


def _extract_heredocs(command: str) -> tuple[str, list[str]]:
    """Replace each heredoc body by a placeholder word `__HEREDOC<i>__`; returns the bodies."""
    bodies: list[str] = []
    out: list[str] = []
    pos = 0
    while True:
        match = _HEREDOC.search(command, pos)
        if match is None:
            out.append(command[pos:])
            break
        line_end = command.find("\n", match.end())
        if line_end < 0:  # `<<EOF` with no body: leave it as it is
            out.append(command[pos:])
            break
        strip_tabs, delimiter = match.group(1) == "-", match.group(3)
        lines, cursor, closed = [], line_end + 1, False
        while cursor <= len(command):
            nl = command.find("\n", cursor)
            line = command[cursor:] if nl < 0 else command[cursor:nl]
            if (line.lstrip("\t") if strip_tabs else line).rstrip("\r") == delimiter:
                closed = True
                cursor = len(command) if nl < 0 else nl + 1
                break
            lines.append(line.lstrip("\t") if strip_tabs else line)
            if nl < 0:
                cursor = len(command)
                break
            cursor = nl + 1
        bodies.append("\n".join(lines) + ("\n" if closed and lines else ""))
        # keep the rest of the `<<EOF` line (e.g. `| jq .`), drop the body
        out.append(command[pos:match.start()] + f"<< __HEREDOC{len(bodies) - 1}__" + command[match.end():line_end + 1])
        pos = cursor
    return "".join(out), bodies


def _tokens(command: str) -> list[str]:
    """POSIX shell words and operator runs, as `shlex` splits them (`_shlex_tokens`). Commands made of plain words,
    single-quoted text and double-quoted text without backslashes — nearly every curl call, whose JSON payload is
    single-quoted — are split by one regular expression (shlex reads a character at a time: ~1 ms per KB);
    anything else (backslashes outside single quotes, `#`, an unclosed quote) goes to shlex."""
    tokens: list[str] = []
    for match in _FAST_TOKEN.finditer(command):
        kind = match.lastgroup
        if kind == "word":
            tokens.append(_QUOTED.sub(_unquote, match.group()))
        elif kind == "punct":
            tokens.append(match.group())
        elif kind == "other":
            return _shlex_tokens(command)
    return tokens


def _shlex_tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    return list(lexer)


_FAST_TOKEN = re.compile(r"""(?P<space>[ \t\r]+)|(?P<punct>[;&|<>\n]+)"""
                         r"""|(?P<word>(?:[^ \t\r;&|<>\n'"\\#]|'[^']*'|"[^"\\]*")+)|(?P<other>.)""", re.S)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _unquote(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else match.group(2)


def _segments(tokens: list[str]) -> list[tuple[list[str], str | None]]:
    """Simple commands with the operator that ends each (so a pipeline can feed the next one's stdin)."""
    segments: list[tuple[list[str], str | None]] = []
    current: list[str] = []
    for token in tokens:
        if token in _OPERATORS:
            segments.append((current, token))
            current = []
        else:
            current.append(token)
    segments.append((current, None))
    return [(words, op) for words, op in segments if words]


_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def _heredoc_input(words: list[str], bodies: list[str]) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word in ("<<", "<<-") and words[i + 1].startswith("__HEREDOC"):
            return bodies[int(words[i + 1][9:-2])]
    return None


def _stdout_of(words: list[str], bodies: list[str]) -> tuple[str | None, str | None]:
    """What a pipeline stage writes to stdout, when it is literal: (text, problem)."""
    name = words[0].rsplit("/", 1)[-1]
    if name == "cat":
        body = _heredoc_input(words, bodies)
        return (body, None) if body is not None else (None, "payload read from a file piped through cat")
    if name == "echo":
        return " ".join(w for w in words[1:] if w not in ("-n", "-e")), None
    if name == "printf" and len(words) >= 2:
        return (words[1] if len(words) == 2 else None), (None if len(words) == 2 else "printf with arguments")
    return None, f"payload produced by `{name}`"


def _parse_payload(text: str, source: str) -> tuple[dict[str, Any] | None, str | None]:
    if "$(" in text or "`" in text:
        return None, f"unrecoverable payload: {source} is built by command substitution"
    if re.search(r"\$\{?[A-Za-z_]", text) and not text.lstrip().startswith("{"):
        return None, f"unrecoverable payload: {source} refers to a shell variable that is not assigned in the command"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"unrecoverable payload: {source} is not JSON ({exc.msg} at column {exc.colno})"
    except (ValueError, RecursionError):  # a 4,300+-digit integer, or nesting too deep
        return None, f"unrecoverable payload: {source} is not JSON Python can read"
    if not isinstance(value, dict):
        return None, f"unrecoverable payload: {source} is JSON but not an object"
    return value, None


def _curl_call(words: list[str], stdin: tuple[str | None, str | None], variables: dict[str, str],
               files: Mapping[str, str], cwd: str | None, bodies: list[str]) -> ShellCall | None:
    op: str | None = None
    data: list[tuple[str, str]] = []  # (option, value)
    i = 1
    while i < len(words):
        word = words[i]
        glued = next((opt for opt in ("--data-raw=", "--data-binary=", "--data=", "--json=") if word.startswith(opt)), None)
        if word in _DATA_OPTIONS and i + 1 < len(words):
            data.append((word, words[i + 1]))
            i += 2
            continue
        if glued:
            data.append((glued[:-1], word[len(glued):]))
        elif word.startswith("-d") and len(word) > 2 and not word.startswith("--"):
            data.append(("-d", word[2:]))
        elif word in _VALUE_OPTIONS:
            i += 2
            continue
        elif word == "--url" and i + 1 < len(words):
            word = words[i + 1]
            i += 1
        match = ENDPOINT.search(word)
        if match and not word.startswith("-"):
            op = match.group(1)
        i += 1
    if op is None:
        return None
    if not data:
        return ShellCall(op, None, None if op == "read" else "unrecoverable payload: curl sends no -d/--data body")
    option, value = data[-1]
    var = _VAR.match(value)
    if var:
        name = var.group(1) or var.group(2)
        if name not in variables:
            return ShellCall(op, None, f"unrecoverable payload: ${name} is not assigned in the command")
        value = variables[name]
        source = f"${name}"
    elif value.startswith("@") and option != "--data-raw":
        target = value[1:]
        if target == "-":
            text, problem = stdin
            if text is None:
                return ShellCall(op, None, f"unrecoverable payload: {problem or 'curl reads the body from stdin'}")
            value, source = text, "the body on stdin"
        else:
            text = _lookup_file(target, files, cwd)
            if text is None:
                return ShellCall(op, None, f"unrecoverable payload: the file {target} was not written in this transcript")
            value, source = text, f"the file {target}"
    else:
        source = f"the {option} argument"
    payload, problem = _parse_payload(value, source)
    return ShellCall(op, payload, problem)


def _lookup_file(target: str, files: Mapping[str, str], cwd: str | None) -> str | None:
    found = files.get(target)
    if found is None and cwd and not target.startswith(("/", "~")):
        found = files.get(cwd.rstrip("/") + "/" + (target[2:] if target.startswith("./") else target))
    return found


def parse_command(command: str, files: Mapping[str, str] | None = None, cwd: str | None = None) -> ParsedCommand:
    """Every baton read/write the command makes, in order; files it writes with heredocs are returned too."""
    files = files if files is not None else {}
    text, bodies = _extract_heredocs(_unescape_continuations(command))
    ops = [m.group(1) for m in ENDPOINT.finditer(text)]
    try:
        tokens = _tokens(text)
    except ValueError as exc:  # unbalanced quotes
        return ParsedCommand([ShellCall(op, None, f"unrecoverable payload: the command does not parse as shell ({exc})")
                              for op in ops[:1]], {})
    variables: dict[str, str] = {}
    written: dict[str, str] = {}
    calls: list[ShellCall] = []
    segments = _segments(tokens)
    previous_stdout: tuple[str | None, str | None] = (None, None)
    previous_op: str | None = None
    for words, operator in segments:
        start = 0
        if words[0] in ("export", "local", "declare", "readonly"):
            start = 1
        while start < len(words) and _ASSIGNMENT.match(words[start]):
            name, value = _ASSIGNMENT.match(words[start]).groups()  # type: ignore[union-attr]
            if value == "$(cat" and start + 2 < len(words) and words[start + 1] in ("<<", "<<-"):
                body = _heredoc_input(words[start:], bodies)
                variables[name] = body if body is not None else value
                start = len(words)
                break
            variables[name] = value
            start += 1
        words = words[start:]
        if not words:
            previous_op = operator
            continue
        name = words[0].rsplit("/", 1)[-1]
        stdin = previous_stdout if previous_op == "|" else (None, None)
        heredoc = _heredoc_input(words, bodies)
        if heredoc is not None:
            stdin = (heredoc, None)
        if name == "curl":
            call = _curl_call(words, stdin, variables, ChainMap(written, files), cwd, bodies)  # type: ignore[arg-type]
            if call is not None:
                calls.append(call)
        elif name == "cat" and heredoc is not None:
            for j, word in enumerate(words[:-1]):
                if word in (">", ">>"):
                    target = words[j + 1]
                    written[target] = heredoc
                    if cwd and not target.startswith("/"):
                        written[cwd.rstrip("/") + "/" + target.removeprefix("./")] = heredoc
                    break
        previous_stdout = _stdout_of(words, bodies) if operator == "|" else (None, None)
        previous_op = operator
    # Endpoints used by a script (python, node, ...) rather than curl: the call is real, its payload is not
    # recoverable. A command that only mentions an endpoint (grep, cat of source code) makes no call.
    if not calls and ops and _SCRIPTED_REQUEST.search(text):
        tool = _SCRIPTER.search(text)
        calls.append(ShellCall(ops[-1], None, f"unrecoverable payload: the call is made by "
                                              f"{tool.group(0).strip() if tool else 'a script'}, not curl"))
    return ParsedCommand(calls, written)
