"""Text a person reads in a terminal: which characters may not be in it, and how to show them anyway.

Control characters (C0, DEL, C1: ANSI escape sequences, OSC, carriage returns that overwrite a line) and
bidirectional-formatting and invisible characters (U+202E and friends reorder text, even inside
`kubectl describe`) let a string disguise itself or the lines around it. Strings an assistant supplies
are refused when they contain one (`unsafe_characters`; the CRD schema carries SAFE_TEXT_PATTERN on
those fields), and everything shown to a person goes through `printable`, which writes each such
character as a visible escape (`\\x1b`, `\\u202e`) whatever its source.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

# C0, DEL, C1; the Arabic letter mark; zero-width characters and LRM/RLM; line/paragraph separators,
# the bidi embeddings/overrides and the narrow no-break space; word joiner, invisible operators, the bidi
# isolates and the deprecated format characters; the BOM. The ranges end where they do so that no
# override, embedding or isolate is a range endpoint: the API server quotes a CRD pattern in its error
# message, and only endpoints appear there as themselves.
UNSAFE_RANGES = (
    (0x00, 0x1F),
    (0x7F, 0x9F),
    (0x061C, 0x061C),
    (0x200B, 0x200F),
    (0x2028, 0x202F),
    (0x2060, 0x206F),
    (0xFEFF, 0xFEFF),
)
UNSAFE_CHARACTER = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in UNSAFE_RANGES) + "]")
# The same class for a CRD `pattern`, read by Go RE2 (the API server), Rust regex (pydantic), Python
# `re` (jsonschema, the sandbox) and ECMA-262 alike: `\xHH` escapes for the ASCII/Latin-1 controls, the
# other characters themselves (no escape syntax is common to all four; crds/ writes them as YAML
# escapes, so the files stay plain ASCII).
SAFE_TEXT_PATTERN = (
    "^[^"
    + "".join(f"\\x{a:02x}-\\x{b:02x}" if b < 0x100 else f"{chr(a)}-{chr(b)}" for a, b in UNSAFE_RANGES)
    + "]*$"
)


def unsafe_characters(text: str) -> list[str]:
    """The distinct control/bidi/invisible characters in `text`, as U+XXXX, in order of appearance."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in UNSAFE_CHARACTER.findall(text)))


def refuse_unsafe(text: str) -> str:
    """`text`, or ValueError naming its control/bidi characters (as U+XXXX: an error message that
    quoted them, or the pattern, would carry them to whoever reads it)."""
    found = unsafe_characters(text)
    if found:
        raise ValueError(f"contains control or bidirectional-formatting characters ({', '.join(found)})")
    return text


# A string a person reads: the CRD schema gets the pattern, the model the check with a readable error.
SafeText = Annotated[
    str, AfterValidator(refuse_unsafe), Field(json_schema_extra={"pattern": SAFE_TEXT_PATTERN})
]


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control/bidi/invisible character written as a visible escape."""
    return UNSAFE_CHARACTER.sub(_escape, text)
