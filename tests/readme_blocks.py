"""README.md as data for tests/test_readme.py: its fenced code blocks, the commands of its
```bash blocks, and the `<!-- not-run ... -->` exceptions written before a block.

A block preceded (blank lines aside) by
    <!-- not-run: REASON -->              is not run at all;
    <!-- not-run "TEXT": REASON -->       has its commands that contain TEXT not run.
Optional parts written `[--option value]` expand into two commands: without and with them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r'^<!--\s*not-run(?:\s+"([^"]+)")?\s*:\s*(.+?)\s*-->\s*$')
OPTIONAL = re.compile(r"\[(--?[^\[\]]+)\]")


@dataclass(frozen=True)
class Command:
    text: str  # as written (continuation lines joined), placeholders and all
    comment: str  # the trailing `# ...` comment, if any
    not_run: str = ""  # the reason, when an HTML comment exempts it

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.text)


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    heading: str
    body: str
    not_run: tuple[tuple[str, str], ...] = field(default=())  # (TEXT or "", reason)

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")[:40]
        return f"L{self.line}-{self.lang}-{slug}"

    def block_reason(self) -> str:
        return next((reason for text, reason in self.not_run if not text), "")

    def commands(self) -> list[Command]:
        out = []
        for text, comment in _logical_lines(self.body):
            for variant in _optional_variants(text):
                reason = self.block_reason() or next(
                    (r for t, r in self.not_run if t and t in variant), "")
                out.append(Command(variant, comment, reason))
        return out


def _split_comment(line: str) -> tuple[str, str]:
    """(command, comment): a `#` that starts a word outside quotes starts the comment."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def _logical_lines(body: str) -> list[tuple[str, str]]:
    """Commands with their `\\` continuations joined, and their comments (comments of
    continuation lines are kept too); comment-only lines start nothing."""
    out, parts, notes = [], [], []
    for raw in body.splitlines():
        text, comment = _split_comment(raw)
        if comment:
            notes.append(comment)
        if not text.strip() and not parts:
            notes = []
            continue
        cont = text.endswith("\\")
        parts.append(text[:-1].strip() if cont else text.strip())
        if not cont:
            out.append((" ".join(p for p in parts if p), " ".join(notes)))
            parts, notes = [], []
    return out


def _optional_variants(text: str) -> list[str]:
    if not OPTIONAL.search(text):
        return [text]
    without = re.sub(r"\s+", " ", OPTIONAL.sub("", text)).strip()
    return [without, OPTIONAL.sub(r"\1", text)]


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README, with its heading and not-run markers."""
    lines = (README.read_text() if text is None else text).splitlines()
    blocks, heading, markers, i = [], "", [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading, markers = line.lstrip("#").strip(), []
        elif (m := NOT_RUN.match(line.strip())):
            markers.append((m.group(1) or "", m.group(2)))
        elif (m := FENCE.match(line)):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(Block(m.group(1), i + 1, heading, "\n".join(lines[i + 1:end]),
                                tuple(markers)))
            markers, i = [], end
        elif line.strip():
            markers = []  # a marker applies to the block right below it only
        i += 1
    return blocks
