"""The words other systems use for our headers and values, read from data.

``profiles/vocabulary.toml`` lists, for each workbook header, the headers
EHRs and plan rosters use for it; for each Contact, Service and Staff Type
value, what people type for it; the words of durations typed as text; and
month names. A plan profile's ``[vocabulary]`` table extends it. Pure Python
(tomllib), so it loads in xlwings Lite too.
"""
from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import NamedTuple

VOCABULARY_FILE = "vocabulary.toml"
VALUE_KINDS = ("contact", "service", "staff_type")


class VocabularyError(ValueError):
    """The vocabulary can't be used; the message says why in one line."""


@functools.lru_cache(maxsize=8192)
def fold(text) -> str:
    """The form two labels are compared in: case, spacing and punctuation ignored."""
    return "".join(ch for ch in str(text).casefold() if ch.isalnum())


class Vocabulary(NamedTuple):
    headers: dict          # workbook header -> tuple of other systems' headers
    values: dict           # kind ("contact", ...) -> {profile value: tuple of words}
    hour_words: frozenset  # folded
    minute_words: frozenset
    months: dict           # folded month name -> 1..12

    def header_synonyms(self, wanted) -> dict:
        """{folded synonym: header} for the headers in `wanted` (their own spellings too)."""
        out = {}
        for h in wanted:
            for word in self.headers.get(h, ()):
                out.setdefault(fold(word), h)
        for h in wanted:
            out[fold(h)] = h
        return out

    def value_words(self, kind: str) -> dict:
        """{folded word: profile value} for one kind of value."""
        return {fold(w): value for value, words in self.values.get(kind, {}).items() for w in words}


def _words(where, key, seq) -> tuple:
    if not isinstance(seq, list) or not all(isinstance(w, str) and fold(w) for w in seq):
        raise VocabularyError(f"{where}: {key} must be a list of words")
    return tuple(seq)


def vocabulary_from_dict(doc: dict, where: str, base: Vocabulary | None = None) -> Vocabulary:
    """A Vocabulary from parsed TOML; with `base`, its words plus these (these win)."""
    if not isinstance(doc, dict):
        raise VocabularyError(f"{where}: the vocabulary must be a table")
    own_headers = {h: _words(where, f"headers.{h!r}", ws) for h, ws in doc.get("headers", {}).items()}
    _unique(where, "header", own_headers)
    headers = _merge(base.headers if base else {}, own_headers)
    values = {k: dict(v) for k, v in (base.values if base else {}).items()}
    for kind, table in doc.get("values", {}).items():
        if kind not in VALUE_KINDS:
            raise VocabularyError(f"{where}: values.{kind} is not one of {', '.join(VALUE_KINDS)}")
        own = {v: _words(where, f"values.{kind}.{v!r}", ws) for v, ws in table.items()}
        _unique(where, kind.replace("_", " "), own)
        values[kind] = _merge(values.get(kind, {}), own)
    durations = doc.get("durations", {})
    hours = {fold(w) for w in _words(where, "durations.hours", durations.get("hours", []))}
    minutes = {fold(w) for w in _words(where, "durations.minutes", durations.get("minutes", []))}
    hours |= set(base.hour_words) if base else set()
    minutes |= set(base.minute_words) if base else set()
    if hours & minutes:
        raise VocabularyError(f"{where}: {', '.join(sorted(hours & minutes))} can't be both hours and minutes")
    months = dict(base.months) if base else {}
    names = doc.get("dates", {}).get("months")
    if names is not None:
        if not isinstance(names, list) or len(names) != 12:
            raise VocabularyError(f"{where}: dates.months must list the twelve months, January first")
        for n, ws in enumerate(names, start=1):
            for w in _words(where, f"dates.months[{n}]", ws):
                months[fold(w)] = n
    return Vocabulary(headers, values, frozenset(hours), frozenset(minutes), months)


def _unique(where: str, what: str, table: dict) -> None:
    """One file may give a word to one header (or value) only."""
    seen = {}
    for target, words in table.items():
        for w in (target,) + tuple(words):
            other = seen.setdefault(fold(w), target)
            if other != target:
                raise VocabularyError(f"{where}: {w!r} is listed for both {what} {other!r} and {target!r}")


def _merge(base: dict, own: dict) -> dict:
    """`base` with `own` added; a word `own` gives to one target leaves every other."""
    moved = {fold(w) for target, words in own.items() for w in (target,) + tuple(words)}
    out = {t: tuple(w for w in ws if fold(w) not in moved) for t, ws in base.items()}
    for t, ws in own.items():
        out[t] = out.get(t, ()) + tuple(ws)
    return out


@functools.lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The vocabulary shipped with ecm-xl (profiles/vocabulary.toml)."""
    raw = resources.files("ecm_xl.profiles").joinpath(VOCABULARY_FILE).read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"{VOCABULARY_FILE}: not valid TOML ({exc})") from None
    return vocabulary_from_dict(doc, VOCABULARY_FILE)
