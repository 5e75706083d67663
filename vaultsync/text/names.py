"""Canonical forms of names and link text, as Obsidian computes them. Pure functions."""

from __future__ import annotations

import re
import unicodedata

# decodeURI leaves escapes of these characters encoded (ECMA-262 "reserved" plus '#').
_DECODE_URI_RESERVED = frozenset(";/?:@&=+$,#")


# What JavaScript's String.prototype.trim removes (WhiteSpace and LineTerminator). Python's
# str.strip differs: it keeps U+FEFF and also removes U+001C-U+001F and U+0085.
JS_WHITESPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def js_trim(text: str) -> str:
    """JavaScript's ``trim()``."""
    return text.strip(JS_WHITESPACE)


class URIDecodeError(ValueError):
    """What JavaScript's decodeURI throws as URIError."""


def clean_string(text: str) -> str:
    """Obsidian's ``cleanString``: NBSP to space, trim, NFC."""
    if "\xa0" in text:
        text = text.replace("\xa0", " ")
    text = text.strip(JS_WHITESPACE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def decode_uri(text: str) -> str:
    """Decode ``%XX`` escapes exactly like JavaScript's ``decodeURI``.

    Escapes of reserved characters (``%23``, ``%2F``, ``%3F`` ...) stay as written; a malformed
    escape or invalid UTF-8 raises URIDecodeError, as decodeURI throws.
    """
    if "%" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        first = _hex_byte(text, i)
        if first < 0x80:
            char = chr(first)
            out.append(text[i : i + 3] if char in _DECODE_URI_RESERVED else char)
            i += 3
            continue
        if 0xC2 <= first <= 0xDF:
            length = 2
        elif 0xE0 <= first <= 0xEF:
            length = 3
        elif 0xF0 <= first <= 0xF4:
            length = 4
        else:
            raise URIDecodeError(f"invalid UTF-8 lead byte at {i}")
        raw = bytearray([first])
        for k in range(1, length):
            j = i + 3 * k
            if j >= n or text[j] != "%":
                raise URIDecodeError(f"truncated UTF-8 sequence at {i}")
            raw.append(_hex_byte(text, j))
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise URIDecodeError(f"invalid UTF-8 at {i}") from exc
        i += 3 * length
    return "".join(out)


def _hex_byte(text: str, i: int) -> int:
    pair = text[i + 1 : i + 3]
    if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
        raise URIDecodeError(f"malformed escape at {i}")
    return int(pair, 16)


def encode_special_chars(text: str) -> str:
    """Obsidian's ``encodeSpecialChars`` for markdown destinations: space, backslash, controls."""
    return re.sub(r"[ \\\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: "%%%02X" % ord(m.group()), text)


def split_alias(inner: str) -> tuple[str, str | None, str]:
    """Obsidian's ``parseAliasLink`` on a wikilink's trimmed inner text: ``(target, display,
    separator)``. The split is at the first ``|`` when it is not the first character; a target
    that ends in a backslash there is a table's escaped pipe (``[[a\\|b]]``, separator ``\\|``).
    The one wikilink split: the scanner (:func:`vaultsync.text.scan.parse_wikilink_inner`, whose C
    fast path is tested against it) and the rewriters (:func:`vaultsync.text.wikitext.parse_wiki`)."""
    cut = inner.find("|")
    if cut <= 0:
        return inner, None, ""
    left, display = inner[:cut].rstrip(JS_WHITESPACE), inner[cut + 1 :].strip(JS_WHITESPACE)
    if left.endswith("\\"):
        return left[:-1], display, "\\|"
    return left, display, "|"


def split_subpath(linktext: str) -> tuple[str, str]:
    """``parseLinktext``: split at the first ``#``; the subpath keeps its ``#``."""
    cut = linktext.find("#")
    if cut < 0:
        return linktext, ""
    return linktext[:cut], linktext[cut:]


def basename(path: str) -> str:
    """The last ``/`` segment."""
    return path[path.rfind("/") + 1 :]


def dirname(path: str) -> str:
    """The folder part of a vault path, ``""`` for the root."""
    cut = path.rfind("/")
    return "" if cut < 0 else path[:cut]


def stem(path: str) -> str:
    """The file name without its extension."""
    name = basename(path)
    cut = name.rfind(".")
    return name if cut <= 0 else name[:cut]


def name_key(uri: str) -> str:
    """Key of ``uniqueFileLookup``: the lower-cased file name with its extension."""
    return basename(uri).lower()


def link_keys(linkpath: str) -> tuple[str, ...]:
    """The lookup keys a link path can hit: the name as written and with ``.md`` added."""
    base = basename(linkpath.lower())
    return (base, base + ".md") if "." in base else (base + ".md",)


def file_keys(uri: str) -> tuple[str, ...]:
    """The link keys (see :func:`link_keys`) under which a link can reach ``uri``."""
    name = name_key(uri)
    return (name, name[:-3]) if name.endswith(".md") else (name,)


_FORGIVING_DROP = re.compile(r"['\u2018\u2019\u02bc`]")
_FORGIVING_SEP = re.compile(r"[\W_]+")


def forgiving_key(name: str) -> str:
    """A loose key for repairing links: case-folded, NFC, apostrophes dropped, runs of
    spaces and punctuation as one ``_``. ``"Sulforaphane's Health"`` -> ``"sulforaphanes_health"``."""
    text = unicodedata.normalize("NFC", name).casefold()
    text = _FORGIVING_DROP.sub("", text)
    return _FORGIVING_SEP.sub("_", text).strip("_")
