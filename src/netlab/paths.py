"""Where the project lives, and how a name becomes a folder name: one home for each."""

import hashlib
import re
import unicodedata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# a name that is its own folder name: ASCII letters, digits, '.', '_', '-', neither hidden ('.…')
# nor read as an option ('-…')
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


def slug(name, reserved=()):
    """A folder name for an experiment or run name, distinct for distinct names: a plain name is
    its own, unless it starts with one of `reserved` (names of other files there, e.g. a SQLite
    store's mlflow.db, mlflow.db-wal); any other is its letters in ASCII, '+' (which no plain name
    has) and a hash of the whole name: 'ñ c/d' -> 'n-c-d+5b1d2c6e'."""
    text = str(name)
    if _PLAIN.fullmatch(text) and not text.startswith(tuple(reserved)):
        return text
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text).strip("-.")[:60].strip("-.")
    return f"{readable or 'x'}+{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def usable_name(name):
    """Why an experiment name cannot be used, or None: '.' and '..' (they name no folder of their
    own), a blank name, control characters (one-line output)."""
    text = str(name)
    if not text.strip():
        return "must not be blank"
    if text.strip() in (".", "..") or set(text.strip()) <= {".", "/"}:
        return "must name a folder of its own, not '.' or '..'"
    if any(unicodedata.category(c) == "Cc" for c in text):
        return "must not hold control characters"
    return None
