"""The fenced blocks of the project's Markdown pages, for the tests that
run the pages' examples as written."""

import re
import textwrap


def blocks(text):
    """The ``(language, lines)`` of each fenced block, indented ones
    dedented."""
    return [
        (match.group(2), textwrap.dedent(match.group(3)).splitlines())
        for match in re.finditer(
            r"^( *)```(\w*)\n(.*?)^\1```", text, re.S | re.M
        )
    ]


def sessions(lines):
    """The ``[(command, shown output lines)]`` of a console block: each
    line starting with ``$ `` and the lines under it."""
    out = []
    for line in lines:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def shown_in_order(shown, actual):
    """Whether the shown lines appear in the actual ones: the chunks
    between ``...`` (output left out) each in one piece, in order."""
    chunks = [[]]
    for line in shown:
        if line.strip() == "...":
            chunks.append([])
        elif line.strip() or chunks[-1]:
            chunks[-1].append(line)
    start = 0
    for chunk in chunks:
        while chunk and not chunk[-1].strip():
            chunk.pop()
        if not chunk:
            continue
        for i in range(start, len(actual) - len(chunk) + 1):
            if actual[i : i + len(chunk)] == chunk:
                start = i + len(chunk)
                break
        else:
            return False
    return True
