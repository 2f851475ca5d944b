"""Parser for Renode platform descriptions (``.repl`` files).

Why a parser of our own: the bench needs a platform's layout (memories, CPUs,
peripherals, interrupt wiring) without starting Renode, and a broken
description must end as one precise ``file:line:column: message`` instead of a
traceback or a late failure inside the emulator.

The syntax follows Renode's "Platform description format" documentation and
the behaviour of Renode's own parser (pre-lexer + grammar):

* Indentation is meaningful only outside ``{ }`` braces.  Each level is four
  spaces; one level deeper opens a block, shallower closes blocks, and a new
  line at the same level separates items (what ``;`` does inside braces).
  The lexer turns indentation into *virtual* ``{``, ``}`` and ``;`` tokens, so
  the parser sees one brace-only grammar, exactly as Renode's pre-lexer does.
* ``//`` comments run to the end of the line; ``/* */`` comments may span
  lines but, outside braces, must then end at the end of a line.
* ``using "file.repl" [prefixed "p_"]`` entries come first; the prefix is
  prepended to every entry name and reference of the used file (and of the
  files it uses), except the machine-provided names in ``BUILTIN_NAMES``.
* Entries: ``[local] name: [Type.Name] [@ registration] [as "alias"]`` with
  attributes in an indented block or in ``{ a: 1; b: 2 }``.
* Registrations: ``@ sysbus 0x1000``, ``@ sysbus <0x1000, +0x100>``,
  ``@ sysbus`` (no point), ``@ none``, ``@ { sysbus 0x1; sysbus 0x2 }`` and
  object points such as ``@ sysbus new Bus.BusPointRegistration { address:
  0xE000E000; cpu: cpu0 }`` (per-core registration).
* Values: integers (decimal / ``0x`` hex, ``_`` separators, optional ``-``),
  decimal fractions (floats), ``"strings"`` (escapes ``\\"`` and ``\\\\``),
  ``'''multi-line strings'''``, ``true``/``false``, references (bare names),
  enum constants (``Endianess.BigEndian`` or ``.BigEndian``), ranges
  (``<start, +size>`` or ``<start, end>``), lists, ``new Type { ... }``
  objects, and for properties also ``none`` and ``empty``.
* Interrupts: ``-> dst@5``, ``IRQ -> dst@5``, ``0 -> dst@0``,
  ``[0-3] -> dst@[1-4]``, ``[A, B] -> dst@[1, 2]``, ``src -> a@1 | b@2``,
  ``src -> dst#2@1`` (local receiver index) and ``src -> none`` (cancel).
* ``init:``, ``init add:``, ``reset:``, ``reset add:``, ``preinit:`` and
  ``preinit add:`` take monitor statements, kept as raw text.

Merging follows Renode: usings are processed depth first before the file's own
entries; later entries override earlier properties, interrupts (per source),
registrations and monitor blocks (``add`` appends).
"""

from __future__ import annotations

import bisect
import difflib
import enum
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from bench.errors import BenchError

__all__ = [
    "BUILTIN_NAMES",
    "EMPTY",
    "Empty",
    "Entry",
    "EnumValue",
    "IrqConnection",
    "Location",
    "NewObject",
    "Platform",
    "Reference",
    "Registration",
    "ReplError",
    "Value",
    "load_repl",
    "parse_repl",
]

#: Names Renode provides before any description is read.  They may be
#: referenced and updated, never created, and ``prefixed`` does not rename them
#: (a per-core file included with a prefix still registers on the one sysbus).
BUILTIN_NAMES = frozenset({"sysbus", "machine"})

_KEYWORDS = frozenset(
    {"using", "prefixed", "local", "new", "as", "init", "reset", "preinit", "true", "false", "none", "empty"}
)
_MONITOR_KEYWORDS = frozenset({"init", "reset", "preinit"})
_COMMENT_MUST_END_LINE = "outside braces a block comment spanning lines must end at the end of a line"
_MAX_NESTING = 100  # deeper values would exhaust Python's stack before saying anything useful


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Location:
    """A 1-based position in a source file, printed the way editors and compilers do."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ReplError(BenchError):
    """A syntax or semantic error in a platform description.

    ``str(error)`` is ``"file:line:column: message"`` so that the CLI can print
    it as-is and editors can jump to the spot.
    """

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(f"{location}: {message}")
        self.message = message
        self.location = location


class Empty(enum.Enum):
    """The ``empty`` keyword: "use the default value of the parameter/property".

    A distinct singleton (rather than ``None``) because ``none`` means
    something else in Renode: leave the property untouched.
    """

    EMPTY = "empty"

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = Empty.EMPTY


@dataclass(frozen=True)
class EnumValue:
    """An enum constant such as ``Endianess.BigEndian`` or the shorthand ``.BigEndian``.

    Kept apart from ``str`` so that a quoted string and a constant never get
    confused.  ``name`` is the text as written (with the leading dot for the
    shorthand form).
    """

    name: str
    location: Location | None = field(default=None, compare=False, repr=False)

    @property
    def member(self) -> str:
        """The constant's own name, without its type (``BigEndian``)."""
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Reference:
    """A bare name in a value: it refers to another entry.

    The location does not take part in equality, so ``Reference("cpu", loc)``
    compares equal to any other reference to ``cpu``.
    """

    name: str
    location: Location = field(compare=False, repr=False)


@dataclass
class NewObject:
    """An inline object, ``new Type.Name { attr: value; ... }``.

    ``attributes`` holds the properties; interrupts and ``init`` lines given in
    the object's block are kept in ``irqs`` and ``init``.
    """

    type: str
    attributes: dict[str, Value]
    irqs: list[IrqConnection] = field(default_factory=list)
    init: list[str] = field(default_factory=list)
    location: Location | None = field(default=None, compare=False, repr=False)


@dataclass
class Registration:
    """Where and how an entry is registered: ``@ target point``.

    ``address``/``size`` are filled from a number (address), a range (address
    and size) or an object point's ``address``/``size``/``range`` attributes;
    for CPUs a number is a slot rather than an address.  ``attributes`` holds
    the fields of an object point (``cpu`` -> ``Reference("cpu_m4")`` for a
    per-core ``Bus.BusPointRegistration``); ``point`` is the point exactly as
    written and ``point_type`` the object's type.  ``location`` is the
    target's name.
    """

    target: str
    address: int | None
    size: int | None
    attributes: dict[str, Value]
    location: Location = field(compare=False)
    point: Value = None
    point_type: str | None = None


@dataclass
class IrqConnection:
    """One interrupt line: ``source -> destination@destination_line``.

    Ranges and lists are expanded to one connection per pair.  ``source`` is
    ``None`` for the default source (``-> nvic@5``), a name or a number.
    ``destination_index`` is the local receiver index of ``dst#index@line``.
    ``location`` is the destination's name, where an unknown entry is reported.
    """

    source: str | int | None
    destination: str
    destination_line: int
    location: Location = field(compare=False)
    destination_index: int | None = None


@dataclass
class Entry:
    """A peripheral (or the machine's ``sysbus``) after all its entries are merged.

    ``type`` is ``None`` only for built-in names (``sysbus``) that the
    description updates.  ``registrations`` is empty for ``@ none`` and for
    entries never registered.  An attribute set to ``none`` is kept as
    ``None`` (Renode leaves such a property untouched); ``empty`` is
    ``EMPTY``.  ``location`` is the creating entry; ``update_locations`` the
    updating ones.
    """

    name: str
    type: str | None
    registrations: list[Registration]
    attributes: dict[str, Value]
    irqs: list[IrqConnection]
    init: list[str]
    location: Location = field(compare=False)
    reset: list[str] = field(default_factory=list)
    preinit: list[str] = field(default_factory=list)
    alias: str | None = None
    local: bool = False
    update_locations: list[Location] = field(default_factory=list, compare=False)


@dataclass
class Platform:
    """A whole description: merged entries (in order of creation) and the files read."""

    entries: dict[str, Entry]
    files: list[str]

    def references_resolved(self) -> None:
        """Check that every name used as an entry exists.

        Separate from parsing because a partial description (an overlay meant
        to be loaded on top of another) may legitimately name entries it does
        not define.  Raises ReplError at the first unknown name: references in
        attributes and registration points, registration targets and
        interrupt destinations.
        """
        for entry in self.entries.values():
            for registration in entry.registrations:
                self._check(registration.target, registration.location)
                self._check_value(registration.point)
            for value in entry.attributes.values():
                self._check_value(value)
            for irq in entry.irqs:
                self._check(irq.destination, irq.location)

    def _check_value(self, value: Value) -> None:
        if isinstance(value, Reference):
            self._check(value.name, value.location)
        elif isinstance(value, list):
            for item in value:
                self._check_value(item)
        elif isinstance(value, NewObject):
            for item in value.attributes.values():
                self._check_value(item)
            for irq in value.irqs:
                self._check(irq.destination, irq.location)

    def _check(self, name: str, location: Location) -> None:
        if name in BUILTIN_NAMES:
            return
        target = self.entries.get(name)
        if target is None:
            message = f"unknown entry '{name}'"
            close = difflib.get_close_matches(name, list(self.entries), n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
            raise ReplError(message, location)
        if target.local and target.location.file != location.file:
            raise ReplError(f"entry '{name}' is local to {target.location.file} and not visible here", location)


Value: TypeAlias = (
    int | float | str | bool | Reference | EnumValue | NewObject | Empty | tuple[int, int] | list["Value"] | None
)


# --------------------------------------------------------------------------- lexer


@dataclass
class _Token:
    kind: str  # IDENT NUMBER STRING MONITOR EOF or a punctuation name below
    text: str
    location: Location
    value: object = None
    virtual: bool = False  # made from indentation rather than written


_PUNCTUATION = {
    "{": "LBRACE",
    "}": "RBRACE",
    "[": "LBRACKET",
    "]": "RBRACKET",
    "<": "LT",
    ">": "GT",
    ",": "COMMA",
    ";": "SEMI",
    ":": "COLON",
    "@": "AT",
    "|": "PIPE",
    "+": "PLUS",
    "#": "HASH",
    ".": "DOT",
    "-": "MINUS",
}
_NUMBER_WORD = re.compile(r"[0-9][0-9A-Za-z_]*(?:\.[0-9A-Za-z_]+)?")
_HEX = re.compile(r"0x[0-9A-Fa-f]+(?:_[0-9A-Fa-f]+)*")
_DECIMAL = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+)?")


class _Lexer:
    """Turns text into tokens, with indentation made into virtual braces.

    It is a generator pulled by the parser, so errors come out in file
    order.  It also reads the raw monitor statements after ``init:`` (and
    ``reset:``/``preinit:``) itself, because those lines are not made of
    .repl tokens (``@https://...``, ``$var``, unbalanced ``<``).
    """

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self.depth = 0  # nesting of written braces; indentation matters only at 0
        self.level = 0  # indentation level of the current indent-mode line
        self.started = False
        self.at_line_start = True
        self.last_end = Location(filename, 1, 1)
        self.recent: list[_Token] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    # ----- helpers

    def loc(self, pos: int) -> Location:
        line = bisect.bisect_right(self._line_starts, pos) - 1
        return Location(self.filename, line + 1, pos - self._line_starts[line] + 1)

    def error(self, message: str, pos: int) -> ReplError:
        return ReplError(message, self.loc(pos))

    def _eol(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def _virtual(self, kind: str, text: str, location: Location) -> _Token:
        return _Token(kind, text, location, virtual=True)

    # ----- main loop

    def tokens(self) -> Iterator[_Token]:
        text = self.text
        while True:
            if self.at_line_start and self.depth == 0:
                yield from self._line_start()
            self._skip_inline_space()
            if self.pos >= len(text):
                if self.depth == 0:
                    for _ in range(self.level):
                        yield self._emit(self._virtual("RBRACE", "", self.last_end))
                    self.level = 0
                # reported where the text ends, right after the last token, like a missing ';' or '}'
                yield self._emit(_Token("EOF", "", self.last_end))
                return
            if text[self.pos] == "\n":
                self.pos += 1
                self.at_line_start = self.depth == 0
                continue
            token = self._emit(self._token())
            yield token
            if token.kind == "COLON" and self._opens_monitor_block():
                yield self._emit(self._monitor_block(token))

    def _emit(self, token: _Token) -> _Token:
        self.recent = [*self.recent[-3:], token]
        return token

    def _next_content_line(self) -> tuple[int, int] | None:
        """From the start of a line, skip blank and comment-only lines.

        Returns (number of leading spaces, index of the first other character)
        of the next line with content, leaving ``pos`` at that line's start;
        ``None`` at end of file.
        """
        text = self.text
        n = len(text)
        while self.pos < n:
            start = self.pos
            q = start
            while q < n and text[q] == " ":
                q += 1
            eol = self._eol(q)
            rest = text[q:eol].lstrip(" \t\f\v")
            first = eol - len(rest)
            if rest and not rest.startswith("//"):
                if not rest.startswith("/*"):
                    return q - start, q
                close = text.find("*/", first + 2)
                if close < 0:
                    raise self.error("unterminated block comment: missing '*/'", first)
                after = close + 2
                eol = self._eol(after)
                trailing = text[after:eol]
                if trailing.strip():
                    bad = after + len(trailing) - len(trailing.lstrip())
                    if "\n" in text[first:close]:
                        raise self.error(_COMMENT_MUST_END_LINE, bad)
                    raise self.error(
                        "outside braces a block comment that starts a line must extend to the end of that line", first
                    )
            self.pos = min(eol + 1, n)
        return None

    def _line_start(self) -> Iterator[_Token]:
        """Compare a new line's indentation with the current level and emit virtual tokens."""
        self.at_line_start = False
        found = self._next_content_line()
        if found is None:
            self.pos = len(self.text)
            return
        spaces, q = found
        if self.text[q] in "\t\f\v":
            raise self.error("indentation must use spaces, found a tab", q)
        if spaces % 4:
            raise self.error(f"indentation must be a multiple of 4 spaces, found {spaces}", q)
        level = spaces // 4
        if not self.started:
            self.started = True
            if level:
                raise self.error("unexpected indentation: the first line cannot be indented", q)
        elif level > self.level + 1:
            raise self.error(
                f"unexpected indentation: expected at most {(self.level + 1) * 4} spaces, found {spaces}", q
            )
        elif level == self.level + 1:
            yield self._emit(self._virtual("LBRACE", "", self.loc(q)))
        elif level == self.level:
            yield self._emit(self._virtual("SEMI", "", self.last_end))
        else:
            for _ in range(self.level - level):
                yield self._emit(self._virtual("RBRACE", "", self.last_end))
            yield self._emit(self._virtual("SEMI", "", self.last_end))
        self.level = level
        self.pos = q

    def _skip_inline_space(self) -> None:
        """Skip spaces, tabs and comments, stopping at a newline or a token."""
        text = self.text
        n = len(text)
        while self.pos < n:
            c = text[self.pos]
            if c in " \t\f\v":
                self.pos += 1
            elif text.startswith("//", self.pos):
                self.pos = self._eol(self.pos)
            elif text.startswith("/*", self.pos):
                start = self.pos
                close = text.find("*/", start + 2)
                if close < 0:
                    raise self.error("unterminated block comment: missing '*/'", start)
                self.pos = close + 2
                if self.depth == 0 and "\n" in text[start:close]:
                    eol = self._eol(self.pos)
                    trailing = text[self.pos : eol]
                    if trailing.strip():
                        bad = self.pos + len(trailing) - len(trailing.lstrip())
                        raise self.error(_COMMENT_MUST_END_LINE, bad)
            else:
                return

    # ----- tokens

    def _token(self) -> _Token:
        text = self.text
        start = self.pos
        c = text[start]
        if c == '"':
            return self._string(start)
        if text.startswith("'''", start):
            return self._multiline_string(start)
        if "0" <= c <= "9":
            return self._number(start)
        if c.isalpha():
            end = start + 1
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            return self._simple("IDENT", start, end)
        if text.startswith("->", start):
            return self._simple("ARROW", start, start + 2)
        kind = _PUNCTUATION.get(c)
        if kind is None:
            raise self.error(f"unexpected character {c!r}", start)
        if kind == "LBRACE":
            self.depth += 1
        elif kind == "RBRACE":
            if self.depth == 0:
                raise self.error("'}' without a matching '{'", start)
            self.depth -= 1
        return self._simple(kind, start, start + 1)

    def _simple(self, kind: str, start: int, end: int, value: object = None) -> _Token:
        self.pos = end
        self.last_end = self.loc(end)
        return _Token(kind, self.text[start:end], self.loc(start), value)

    def _string(self, start: int) -> _Token:
        text = self.text
        i = start + 1
        chars: list[str] = []
        while True:
            if i >= len(text) or text[i] == "\n":
                raise self.error("unterminated string: missing closing '\"'", start)
            c = text[i]
            if c == "\\":
                following = text[i + 1] if i + 1 < len(text) else ""
                if following not in ('"', "\\"):
                    raise self.error('invalid escape sequence in string: only \\" and \\\\ are allowed', i)
                chars.append(following)
                i += 2
            elif c == '"':
                return self._simple("STRING", start, i + 1, "".join(chars))
            else:
                chars.append(c)
                i += 1

    def _multiline_string(self, start: int) -> _Token:
        text = self.text
        i = start + 3
        chars: list[str] = []
        while True:
            if i >= len(text):
                raise self.error("unterminated multi-line string: missing closing '''", start)
            if text.startswith("\\'''", i):
                chars.append("'''")
                i += 4
            elif text.startswith("'''", i):
                return self._simple("STRING", start, i + 3, "".join(chars))
            else:
                chars.append(text[i])
                i += 1

    def _number(self, start: int) -> _Token:
        word = _NUMBER_WORD.match(self.text, start)
        assert word is not None  # starts with a digit
        literal = word.group()
        if _HEX.fullmatch(literal):
            value: int | float = int(literal[2:].replace("_", ""), 16)
        elif _DECIMAL.fullmatch(literal):
            digits = literal.replace("_", "")
            value = float(digits) if "." in digits else int(digits)
        else:
            raise self.error(f"invalid number '{literal}'", start)
        return self._simple("NUMBER", start, word.end(), value)

    # ----- monitor statements

    def _opens_monitor_block(self) -> bool:
        before = [t.text if t.kind == "IDENT" else "" for t in self.recent[:-1]]
        if before and before[-1] in _MONITOR_KEYWORDS:
            return True
        return len(before) >= 2 and before[-1] == "add" and before[-2] in _MONITOR_KEYWORDS

    def _monitor_block(self, colon: _Token) -> _Token:
        """Read the statements after ``init:``: ``{ a; b }`` or an indented block."""
        keyword = next(t.text for t in reversed(self.recent) if t.text in _MONITOR_KEYWORDS)
        self._skip_inline_space()
        text = self.text
        if self.pos < len(text) and text[self.pos] == "{":
            lines, self.pos = self._scan_statements(self.pos + 1, braced=True, opening=self.pos)
            self.last_end = self.loc(self.pos)
        elif self.pos >= len(text) or text[self.pos] == "\n":
            if self.depth:
                raise self.error(
                    f"expected '{{' after '{keyword}:' (inside braces write {{ statement; statement }})", self.pos
                )
            lines = self._indented_statements(colon, keyword)
        else:
            raise self.error(f"expected '{{' or an indented block of monitor statements after '{keyword}:'", self.pos)
        return _Token("MONITOR", "", colon.location, lines)

    def _indented_statements(self, colon: _Token, keyword: str) -> list[str]:
        text = self.text
        base = self.level
        lines: list[str] = []
        found = False
        end_of_content = self.pos
        if self.pos < len(text):
            self.pos += 1  # the newline after 'init:'
        while True:
            line = self._next_content_line()
            if line is None:
                break
            spaces, q = line
            if text[q] in "\t\f\v":
                raise self.error("indentation must use spaces, found a tab", q)
            if spaces % 4:
                raise self.error(f"indentation must be a multiple of 4 spaces, found {spaces}", q)
            level = spaces // 4
            if level <= base:
                break
            if level > base + 1:
                raise self.error(f"unexpected indentation: expected {(base + 1) * 4} spaces, found {spaces}", q)
            statements, end = self._scan_statements(q, braced=False, opening=q)
            lines.extend(statements)
            found = True
            end_of_content = end
            self.pos = min(end + 1, len(text))
        if not found:
            raise ReplError(f"expected an indented block of monitor statements after '{keyword}:'", colon.location)
        self.pos = min(self.pos, len(text))
        self.at_line_start = True
        self.last_end = self.loc(end_of_content)
        return lines

    def _scan_statements(self, i: int, *, braced: bool, opening: int) -> tuple[list[str], int]:
        """Split raw monitor text into statements at ``;`` (and, in braces, newlines).

        Strings are kept verbatim; comments are dropped with Renode's rule
        that ``//`` starts a comment only at a line start or after
        whitespace, so ``@https://host/file`` survives.  Returns the
        statements and the index after ``}`` (braced) or of the newline.
        """
        text = self.text
        n = len(text)
        statements: list[str] = []
        parts: list[str] = []
        segment = i

        def flush(end: int) -> None:
            parts.append(text[segment:end])
            statement = "".join(parts).strip()
            parts.clear()
            if statement:
                statements.append(statement)

        while i < n:
            c = text[i]
            if c == "\n":
                if not braced:
                    break
                flush(i)
                i += 1
                segment = i
            elif c == '"':
                j = i + 1
                while j < n and text[j] not in '"\n':
                    j += 2 if text[j] == "\\" else 1
                if j >= n or text[j] != '"':
                    raise self.error("unterminated string: missing closing '\"'", i)
                i = j + 1
            elif text.startswith("/*", i):
                parts.append(text[segment:i])
                close = text.find("*/", i + 2)
                if close < 0:
                    raise self.error("unterminated block comment: missing '*/'", i)
                if not braced and "\n" in text[i:close]:
                    eol = self._eol(close + 2)
                    trailing = text[close + 2 : eol]
                    if trailing.strip():
                        bad = close + 2 + len(trailing) - len(trailing.lstrip())
                        raise self.error(_COMMENT_MUST_END_LINE, bad)
                i = close + 2
                segment = i
            elif text.startswith("//", i) and (i == 0 or text[i - 1] in " \t\n"):
                parts.append(text[segment:i])
                i = self._eol(i)
                segment = i
            elif c == ";":
                flush(i)
                i += 1
                segment = i
            elif c == "}" and braced:
                flush(i)
                return statements, i + 1
            elif c in "{}":
                raise self.error(f"unexpected '{c}' in a monitor statement", i)
            else:
                i += 1
        if braced:
            raise self.error("unterminated monitor block: missing '}'", opening)
        flush(i)
        return statements, i


# --------------------------------------------------------------------------- parser (syntax only)


@dataclass
class _PropAttr:
    name: str
    value: Value
    location: Location


@dataclass
class _IrqAttr:
    sources: list[str | int | None]
    connections: list[IrqConnection]  # empty for "-> none"
    location: Location


@dataclass
class _MonitorAttr:
    kind: str  # init, reset or preinit
    add: bool
    lines: list[str]
    location: Location


_Attr: TypeAlias = _PropAttr | _IrqAttr | _MonitorAttr


@dataclass
class _RegAst:
    target: str
    location: Location
    point: Value


@dataclass
class _EntryAst:
    name: str
    location: Location
    local: bool
    type: str | None
    registrations: list[_RegAst] | None  # None: not given; []: "@ none"
    alias: str | None
    attributes: list[_Attr]


@dataclass
class _UsingAst:
    path: str
    prefix: str
    location: Location  # of the path string


@dataclass
class _FileAst:
    usings: list[_UsingAst]
    entries: list[_EntryAst]


def _describe(token: _Token) -> str:
    """Say what a token is, for 'expected ..., found ...' messages."""
    if token.kind == "EOF":
        return "end of file"
    if token.virtual:
        return {"SEMI": "end of line", "LBRACE": "an indented block", "RBRACE": "end of line"}[token.kind]
    if token.kind == "IDENT":
        return f"keyword '{token.text}'" if token.text in _KEYWORDS else f"name '{token.text}'"
    if token.kind == "NUMBER":
        return f"number {token.text}"
    if token.kind == "STRING":
        return "a string"
    if token.kind == "MONITOR":
        return "monitor statements"
    return f"'{token.text}'"


class _Parser:
    """Recursive-descent parser over the brace-only token stream."""

    def __init__(self, text: str, filename: str) -> None:
        self._tokens = _Lexer(text, filename).tokens()
        self._buffer: list[_Token] = []
        self._nesting = 0

    # ----- token access

    def _peek(self, ahead: int = 0) -> _Token:
        while len(self._buffer) <= ahead:
            if self._buffer and self._buffer[-1].kind == "EOF":
                self._buffer.append(self._buffer[-1])
            else:
                self._buffer.append(next(self._tokens))
        return self._buffer[ahead]

    def _next(self) -> _Token:
        token = self._peek()
        del self._buffer[0]
        return token

    def _is(self, kind: str, ahead: int = 0) -> bool:
        return self._peek(ahead).kind == kind

    def _is_word(self, word: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == "IDENT" and token.text == word

    def _fail(self, expected: str, token: _Token | None = None) -> ReplError:
        token = token or self._peek()
        return ReplError(f"expected {expected}, found {_describe(token)}", token.location)

    def _expect(self, kind: str, expected: str) -> _Token:
        if not self._is(kind):
            raise self._fail(expected)
        return self._next()

    def _expect_name(self, expected: str) -> _Token:
        token = self._peek()
        if token.kind != "IDENT" or token.text in _KEYWORDS:
            raise self._fail(expected)
        return self._next()

    def _skip_separators(self) -> None:
        while self._is("SEMI"):
            self._next()

    def _close(self, opening: _Token) -> None:
        token = self._peek()
        if token.kind != "RBRACE" or token.virtual != opening.virtual:
            raise self._fail(f"'}}' to close the '{{' at {opening.location}")
        self._next()

    # ----- file and entries

    def parse_file(self) -> _FileAst:
        usings: list[_UsingAst] = []
        entries: list[_EntryAst] = []
        self._skip_separators()
        while self._is_word("using"):
            usings.append(self._using())
            self._end_of_item("'using' entry")
        while not self._is("EOF"):
            if self._is_word("using"):
                raise ReplError("'using' entries must come before all other entries", self._peek().location)
            entries.append(self._entry())
            self._end_of_item("entry")
        return _FileAst(usings, entries)

    def _end_of_item(self, what: str) -> None:
        if not (self._is("SEMI") or self._is("EOF")):
            raise self._fail(f"end of line or ';' after the {what}")
        self._skip_separators()

    def _using(self) -> _UsingAst:
        self._next()
        path = self._expect("STRING", "a quoted file name after 'using'")
        prefix = ""
        if self._is_word("prefixed"):
            self._next()
            prefix = str(self._expect("STRING", "a quoted prefix after 'prefixed'").value)
        return _UsingAst(str(path.value), prefix, path.location)

    def _entry(self) -> _EntryAst:
        local = False
        if self._is_word("local") and self._is("IDENT", 1):
            self._next()
            local = True
        name = self._expect_name("an entry name")
        if not self._is("COLON"):
            raise self._fail(f"':' after entry name '{name.text}'")
        self._next()
        type_name = None
        if self._is("IDENT") and self._peek().text not in _KEYWORDS:
            type_name = self._type_name()
        registrations = None
        if self._is("AT"):
            registrations = self._registration_info()
        alias = None
        if self._is_word("as"):
            self._next()
            alias = str(self._expect("STRING", "a quoted alias after 'as'").value)
        attributes: list[_Attr] = []
        if self._is("LBRACE"):
            attributes = self._attribute_block()
        if type_name is None and registrations is None and not attributes:
            raise ReplError(
                f"entry '{name.text}' is empty: expected a type, a registration ('@') or attributes", name.location
            )
        return _EntryAst(name.text, name.location, local, type_name, registrations, alias, attributes)

    def _type_name(self) -> str:
        parts = [self._expect_name("a type name").text]
        while self._is("DOT"):
            self._next()
            parts.append(self._expect_name("the rest of the type name after '.'").text)
        return ".".join(parts)

    # ----- registrations

    def _registration_info(self) -> list[_RegAst]:
        self._next()  # '@'
        if self._is_word("none"):
            self._next()
            return []
        if not self._is("LBRACE"):
            return [self._registration()]
        opening = self._next()
        registrations: list[_RegAst] = []
        while True:
            self._skip_separators()
            if self._is("RBRACE"):
                break
            registrations.append(self._registration())
            if not (self._is("SEMI") or self._is("RBRACE")):
                raise self._fail("';' or '}' after a registration")
        self._close(opening)
        if not registrations:
            raise ReplError("empty registration list: expected at least one registration", opening.location)
        return registrations

    def _registration(self) -> _RegAst:
        target = self._expect_name("a registration target such as 'sysbus'")
        point: Value = None
        if self._starts_value():
            point = self._value()
        return _RegAst(target.text, target.location, point)

    # ----- attributes

    def _attribute_block(self) -> list[_Attr]:
        opening = self._next()
        attributes: list[_Attr] = []
        while True:
            self._skip_separators()
            if self._is("RBRACE") or self._is("EOF"):
                self._close(opening)
                return attributes
            attributes.append(self._attribute())
            if self._is("EOF"):
                self._close(opening)
            if not (self._is("SEMI") or self._is("RBRACE")):
                expected = "end of line" if opening.virtual else "';' or '}'"
                raise self._fail(f"{expected} after the attribute")

    def _attribute(self) -> _Attr:
        token = self._peek()
        if token.kind == "IDENT" and token.text in _MONITOR_KEYWORDS:
            self._next()
            add = False
            if self._is_word("add"):
                self._next()
                add = True
            self._expect("COLON", f"':' after '{token.text}{' add' if add else ''}'")
            lines = self._expect("MONITOR", "monitor statements")
            return _MonitorAttr(token.text, add, list(lines.value), token.location)  # type: ignore[call-overload]
        if token.kind == "IDENT" and self._is("COLON", 1):
            if token.text in _KEYWORDS:
                raise ReplError(f"'{token.text}' is a keyword and cannot be a property name", token.location)
            self._next()
            self._next()
            if self._is_word("none"):
                self._next()
                return _PropAttr(token.text, None, token.location)
            if self._is_word("empty"):
                self._next()
                return _PropAttr(token.text, EMPTY, token.location)
            if not self._starts_value():
                raise self._fail(f"a value for '{token.text}'")
            return _PropAttr(token.text, self._value(), token.location)
        if token.kind in ("ARROW", "NUMBER", "LBRACKET") or (token.kind == "IDENT" and token.text not in _KEYWORDS):
            return self._irq()
        raise self._fail("an attribute ('name: value', an interrupt such as '-> nvic@5', or 'init:')")

    def _irq(self) -> _IrqAttr:
        start = self._peek()
        sources: list[str | int | None]
        if self._is("ARROW"):
            sources = [None]
        elif self._is("LBRACKET"):
            self._next()
            sources = list(self._irq_end_list(source=True))
        else:
            sources = list(self._irq_ends(source=True))
        if not self._is("ARROW"):
            if start.kind == "IDENT" and len(sources) == 1:
                raise self._fail(f"':' after property name '{start.text}' (or '->' for an interrupt)")
            raise self._fail("'->' after the interrupt source")
        self._next()
        if self._is_word("none"):
            self._next()
            return _IrqAttr(sources, [], start.location)
        connections: list[IrqConnection] = []
        while True:
            destination = self._expect_name("an interrupt destination (an entry name) or 'none'")
            index = None
            if self._is("HASH"):
                self._next()
                index = self._irq_number("a local receiver index after '#'")
            self._expect("AT", f"'@' and an interrupt number after '{destination.text}'")
            if self._is("LBRACKET"):
                self._next()
                lines = self._irq_end_list(source=False)
            else:
                lines = self._irq_ends(source=False)
            if len(lines) != len(sources):
                raise ReplError(
                    f"interrupt connection to '{destination.text}' has {len(sources)} source(s) "
                    f"but {len(lines)} destination number(s)",
                    destination.location,
                )
            for source, line in zip(sources, lines, strict=True):
                assert isinstance(line, int)
                connections.append(IrqConnection(source, destination.text, line, destination.location, index))
            if not self._is("PIPE"):
                return _IrqAttr(sources, connections, start.location)
            self._next()

    def _irq_end_list(self, *, source: bool) -> list[str | int]:
        ends = self._irq_ends(source=source)
        while self._is("COMMA"):
            self._next()
            ends += self._irq_ends(source=source)
        self._expect("RBRACKET", "',' or ']' in the interrupt list")
        return ends

    def _irq_ends(self, *, source: bool) -> list[str | int]:
        """One interrupt end: a number, a range ``a-b`` (either direction) or, for sources, a name."""
        token = self._peek()
        if token.kind == "IDENT" and source and token.text not in _KEYWORDS:
            return [self._next().text]
        if token.kind != "NUMBER":
            raise self._fail("an interrupt number, range" + (" or name" if source else ""))
        first = self._irq_number("an interrupt number")
        if not (self._is("MINUS") and self._is("NUMBER", 1)):
            return [first]
        self._next()
        last_token = self._peek()
        last = self._irq_number("the end of the interrupt range")
        if last == first:
            raise ReplError(f"interrupt range must end at a number other than {first}", last_token.location)
        step = 1 if last > first else -1
        return list(range(first, last + step, step))

    def _irq_number(self, expected: str) -> int:
        token = self._peek()
        if token.kind != "NUMBER" or not isinstance(token.value, int):
            raise self._fail(expected + " (an integer)")
        self._next()
        return token.value

    # ----- values

    def _starts_value(self) -> bool:
        token = self._peek()
        if token.kind in ("STRING", "NUMBER", "MINUS", "LT", "LBRACKET", "DOT"):
            return True
        return token.kind == "IDENT" and (token.text not in _KEYWORDS or token.text in ("true", "false", "new"))

    def _value(self) -> Value:
        self._nesting += 1
        try:
            if self._nesting > _MAX_NESTING:
                raise ReplError(f"values nested more than {_MAX_NESTING} deep", self._peek().location)
            return self._value_inner()
        finally:
            self._nesting -= 1

    def _value_inner(self) -> Value:
        token = self._peek()
        kind = token.kind
        if kind in ("STRING", "NUMBER"):
            self._next()
            return token.value  # type: ignore[return-value]
        if kind == "MINUS":
            self._next()
            number = self._expect("NUMBER", "a number after '-'")
            return -number.value  # type: ignore[operator]
        if kind == "LT":
            return self._range()
        if kind == "LBRACKET":
            return self._list()
        if kind == "DOT":
            self._next()
            return EnumValue("." + self._expect_name("an enum constant name after '.'").text, token.location)
        if kind == "IDENT":
            if token.text in ("true", "false"):
                self._next()
                return token.text == "true"
            if token.text == "new":
                return self._object()
            if token.text not in _KEYWORDS:
                self._next()
                if self._is("DOT"):
                    parts = [token.text]
                    while self._is("DOT"):
                        self._next()
                        parts.append(self._expect_name("an enum constant name after '.'").text)
                    return EnumValue(".".join(parts), token.location)
                return Reference(token.text, token.location)
        raise self._fail("a value")

    def _range(self) -> tuple[int, int]:
        self._next()  # '<'
        start = self._range_number("the range start")
        self._expect("COMMA", "',' after the range start")
        relative = self._is("PLUS")
        if relative:
            self._next()
        end_token = self._peek()
        end = self._range_number("the range size" if relative else "the range end")
        self._expect("GT", "'>' to close the range")
        if relative:
            return (start, end)
        if end < start:
            raise ReplError(f"range end {end_token.text} is before its start", end_token.location)
        return (start, end - start)

    def _range_number(self, expected: str) -> int:
        token = self._peek()
        if token.kind != "NUMBER" or not isinstance(token.value, int):
            raise self._fail(expected + " (a non-negative integer)")
        self._next()
        return token.value

    def _list(self) -> list[Value]:
        self._next()  # '['
        items: list[Value] = []
        while not self._is("RBRACKET"):
            items.append(self._value())
            if self._is("COMMA"):
                self._next()
            elif not self._is("RBRACKET"):
                raise self._fail("',' or ']' in the list")
        self._next()
        return items

    def _object(self) -> NewObject:
        new = self._next()
        type_name = self._type_name()
        obj = NewObject(type_name, {}, location=new.location)
        if not self._is("LBRACE"):
            return obj
        for attribute in self._attribute_block():
            if isinstance(attribute, _PropAttr):
                obj.attributes[attribute.name] = attribute.value
            elif isinstance(attribute, _IrqAttr):
                obj.irqs = [c for c in obj.irqs if c.source not in attribute.sources] + attribute.connections
            elif attribute.kind == "init":
                obj.init = obj.init + attribute.lines if attribute.add else list(attribute.lines)
            else:
                raise ReplError(f"'{attribute.kind}:' is not allowed in an inline object", attribute.location)
        return obj


# --------------------------------------------------------------------------- files, prefixes, merging


def _read_text(path: str, location: Location | None) -> str:
    """Read a description as UTF-8; any failure becomes a ReplError.

    ``location`` is where to report (the ``using`` that names the file);
    ``None`` reports at the start of the file itself.
    """
    where = location or Location(path, 1, 1)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ReplError(f"file not found: {path}", where) from None
    except IsADirectoryError:
        raise ReplError(f"is a directory, not a file: {path}", where) from None
    except OSError as error:
        raise ReplError(f"cannot read {path}: {error.strerror or error}", where) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        raise ReplError("the file is not valid UTF-8", Location(path, line, column)) from None


def _normalise(text: str) -> str:
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _prefixed_name(name: str, prefix: str) -> str:
    return name if not prefix or name in BUILTIN_NAMES else prefix + name


def _prefix_value(value: Value, prefix: str) -> Value:
    if isinstance(value, Reference):
        return Reference(_prefixed_name(value.name, prefix), value.location)
    if isinstance(value, list):
        return [_prefix_value(item, prefix) for item in value]
    if isinstance(value, NewObject):
        return NewObject(
            value.type,
            {key: _prefix_value(item, prefix) for key, item in value.attributes.items()},
            _prefix_irqs(value.irqs, prefix),
            list(value.init),
            value.location,
        )
    return value


def _prefix_irqs(irqs: list[IrqConnection], prefix: str) -> list[IrqConnection]:
    return [
        IrqConnection(
            c.source, _prefixed_name(c.destination, prefix), c.destination_line, c.location, c.destination_index
        )
        for c in irqs
    ]


def _prefix_entry(entry: _EntryAst, prefix: str) -> _EntryAst:
    """The entry as seen through ``using ... prefixed "prefix"``."""
    if not prefix:
        return entry
    registrations = None
    if entry.registrations is not None:
        registrations = [
            _RegAst(_prefixed_name(r.target, prefix), r.location, _prefix_value(r.point, prefix))
            for r in entry.registrations
        ]
    attributes: list[_Attr] = []
    for attribute in entry.attributes:
        if isinstance(attribute, _PropAttr):
            attributes.append(_PropAttr(attribute.name, _prefix_value(attribute.value, prefix), attribute.location))
        elif isinstance(attribute, _IrqAttr):
            attributes.append(
                _IrqAttr(attribute.sources, _prefix_irqs(attribute.connections, prefix), attribute.location)
            )
        else:
            attributes.append(attribute)
    return _EntryAst(
        _prefixed_name(entry.name, prefix),
        entry.location,
        entry.local,
        entry.type,
        registrations,
        entry.alias,
        attributes,
    )


def _registration(ast: _RegAst) -> Registration:
    """Pull address and size out of whatever form the registration point has."""
    point = ast.point
    address: int | None = None
    size: int | None = None
    attributes: dict[str, Value] = {}
    point_type = None

    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if is_int(point):
        address = point  # type: ignore[assignment]
    elif isinstance(point, tuple):
        address, size = point
    elif isinstance(point, NewObject):
        point_type = point.type
        attributes = dict(point.attributes)
        for key in ("range", "address"):
            value = attributes.get(key)
            if isinstance(value, tuple):
                address, size = value
                break
            if key == "address" and is_int(value):
                address = value  # type: ignore[assignment]
        if is_int(attributes.get("size")):
            size = attributes["size"]  # type: ignore[assignment]
    return Registration(ast.target, address, size, attributes, ast.location, point, point_type)


class _Loader:
    """Follows ``using`` entries and merges every file's entries into one platform."""

    def __init__(self, search_paths: Sequence[str | os.PathLike[str]]) -> None:
        self.search_paths = [os.fspath(p) for p in search_paths]
        self.files: list[str] = []
        self.records: list[_EntryAst] = []
        self._parsed: dict[str, _FileAst] = {}
        self._stack: list[tuple[str, str]] = []  # (identity, name) of files being read

    def load(self, text: str, filename: str, prefix: str) -> None:
        identity = os.path.realpath(filename) if filename else filename
        ast = self._parsed.get(identity)
        if ast is None:
            ast = _Parser(_normalise(text), filename).parse_file()
            self._parsed[identity] = ast
        if filename not in self.files:
            self.files.append(filename)
        self._stack.append((identity, filename))
        seen: dict[tuple[str, str], Location] = {}
        for using in ast.usings:
            key = (using.path, using.prefix)
            if key in seen:
                raise ReplError(f"duplicate 'using' of '{using.path}' (first at {seen[key]})", using.location)
            seen[key] = using.location
            path = self._resolve(using, filename)
            real = os.path.realpath(path)
            names = [name for ident, name in self._stack]
            identities = [ident for ident, name in self._stack]
            if real in identities:
                cycle = [*names[identities.index(real) :], path]
                raise ReplError("include cycle: " + " -> ".join(cycle), using.location)
            included = self._parsed.get(real)
            source = "" if included is not None else _read_text(path, using.location)
            self.load(source, path, prefix + using.prefix)
        self._stack.pop()
        self.records.extend(_prefix_entry(entry, prefix) for entry in ast.entries)

    def _resolve(self, using: _UsingAst, including: str) -> str:
        if os.path.isabs(using.path):
            candidates = [using.path]
        else:
            bases = [os.path.dirname(including), *self.search_paths]
            candidates = [os.path.normpath(os.path.join(base, using.path)) for base in bases]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        raise ReplError(f"included file '{using.path}' not found (looked for {', '.join(candidates)})", using.location)

    def platform(self) -> Platform:
        created: dict[str, _EntryAst] = {}
        for record in self.records:
            if record.type is None:
                continue
            if record.name in BUILTIN_NAMES:
                raise ReplError(f"'{record.name}' is provided by the machine and cannot be created", record.location)
            first = created.get(record.name)
            if first is not None:
                message = f"entry '{record.name}' is already created at {first.location}"
                if first.location == record.location:
                    message += " (the file is included twice with the same prefix)"
                raise ReplError(message, record.location)
            created[record.name] = record

        groups: dict[str, list[_EntryAst]] = {}
        for record in self.records:
            creator = created.get(record.name)
            if creator is None and record.name not in BUILTIN_NAMES:
                raise ReplError(
                    f"entry '{record.name}' is updated but never created (no entry of that name has a type)",
                    record.location,
                )
            if creator is not None and creator.local and creator.location.file != record.location.file:
                raise ReplError(
                    f"entry '{record.name}' is local to {creator.location.file} and cannot be updated here",
                    record.location,
                )
            groups.setdefault(record.name, []).append(record)

        # creation order; a built-in name (sysbus) takes the place of its first update
        order = [
            r.name for r in self.records if r.type is not None or (r.name not in created and r is groups[r.name][0])
        ]
        return Platform({name: _merge(name, created.get(name), groups[name]) for name in order}, list(self.files))


def _merge(name: str, creator: _EntryAst | None, records: list[_EntryAst]) -> Entry:
    """Apply one name's entries in file order: the later value of anything wins."""
    first = creator or records[0]
    entry = Entry(name, first.type, [], {}, [], [], first.location, local=first.local)
    for record in records:
        if record is not first:
            entry.update_locations.append(record.location)
        if record.registrations is not None:
            entry.registrations = [_registration(r) for r in record.registrations]
            entry.alias = record.alias
        elif record.alias is not None:
            entry.alias = record.alias
        touched: set[str | int | None] = set()
        new_irqs: list[IrqConnection] = []
        for attribute in record.attributes:
            if isinstance(attribute, _PropAttr):
                entry.attributes[attribute.name] = attribute.value
            elif isinstance(attribute, _IrqAttr):
                touched.update(attribute.sources)
                new_irqs = [c for c in new_irqs if c.source not in attribute.sources] + attribute.connections
            else:
                previous = getattr(entry, attribute.kind) if attribute.add else []
                setattr(entry, attribute.kind, previous + attribute.lines)
        if touched:
            entry.irqs = [c for c in entry.irqs if c.source not in touched] + new_irqs
    return entry


# --------------------------------------------------------------------------- public entry points


def parse_repl(text: str, filename: str, *, search_paths: Sequence[str | os.PathLike[str]] = ()) -> Platform:
    """Parse a description given as text; ``filename`` names it in errors.

    ``using`` paths are resolved relative to ``filename``'s directory, then to
    each of ``search_paths`` (e.g. a Renode checkout, for
    ``using "platforms/cpus/stm32f4.repl"``); a file that cannot be found is
    an error, never silently skipped.  References are not checked here, so
    that a partial description can be parsed: see
    ``Platform.references_resolved``.
    """
    loader = _Loader(search_paths)
    loader.load(text, filename, "")
    return loader.platform()


def load_repl(path: str | os.PathLike[str], *, search_paths: Sequence[str | os.PathLike[str]] = ()) -> Platform:
    """Read, parse and check a description file (all references must resolve)."""
    filename = os.fspath(path)
    platform = parse_repl(_read_text(filename, None), filename, search_paths=search_paths)
    platform.references_resolved()
    return platform
