"""Plan profiles: the plan-specific data the engine bills with.

A profile is a TOML file (see ``profiles/``) with a source and an effective
date. It holds the code table (R5), the unit length (R1), the filing limit
(R13), the activities and whether each is billable (R7), and the allowed
Service, Contact and Place of Service values. Pure Python (tomllib), so it
loads in xlwings Lite too.
"""
from __future__ import annotations

import datetime as dt
import functools
import tomllib
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from .data import Code
from .vocabulary import (VOCABULARY_FILE, Vocabulary, VocabularyError,
                         default_vocabulary, fold, vocabulary_from_dict)

DEFAULT_PROFILE = "chpiv-healthnet-ecm-ffs"


class ProfileError(ValueError):
    """The profile file can't be used; the message says why in one line."""


class Contact(NamedTuple):
    name: str
    mode: str                 # "in_person", "remote", or "" (never billable)
    place_of_service: str
    note: str


class Activity(NamedTuple):
    name: str
    billable: bool
    reason: str


class Profile(NamedTuple):
    id: str
    name: str
    plan: str
    version: str
    effective_date: dt.date
    source: str
    unit_minutes: int
    filing_limit_days: int
    rate_note: str
    clinical: str
    non_clinical: str
    care_service: str
    outreach_service: str
    contacts: tuple           # of Contact
    codes: tuple              # of Code
    activities: tuple         # of Activity
    approval_yes: tuple
    approval_no: tuple
    places_of_service: dict   # code -> description
    index: dict = {}          # lookups built once by profile_from_dict
    vocabulary: Vocabulary | None = None   # the shipped vocabulary plus the profile's [vocabulary]

    # -- lookups -----------------------------------------------------------
    @property
    def staff_types(self) -> tuple:
        return (self.clinical, self.non_clinical)

    @property
    def services(self) -> tuple:
        return (self.care_service, self.outreach_service)

    def contact(self, name: str) -> Contact | None:
        """The contact `name` means: the profile's own spelling or a vocabulary word for it."""
        return self.index["contact"].get(fold(name))

    def service(self, text: str) -> str | None:
        """The profile's service `text` means (its own spelling or a vocabulary word), or None."""
        return self.index["service"].get(fold(text))

    def staff_type(self, text: str) -> str | None:
        """The profile's staff type `text` means (its own spelling or a vocabulary word), or None."""
        return self.index["staff_type"].get(fold(text))

    def activity(self, name: str) -> Activity | None:
        return self.index["activity"].get(fold(name))

    def code_for(self, staff_type: str, service: str, contact: str) -> Code | None:
        """The code and modifiers R5 gives a staff type, service and contact."""
        c = self.contact(contact)
        if c is None or not c.mode:
            return None
        return self.index["slot"].get((staff_type, service, c.mode))

    def code_by_key(self, hcpcs: str, modifier_1: str, modifier_2: str) -> Code | None:
        return self.index["key"].get((hcpcs, modifier_1, modifier_2))


def canonical(values, text) -> str | None:
    """The profile's spelling of `text` among `values`, or None."""
    return _canon(tuple(values)).get(fold(text))


@functools.lru_cache(maxsize=64)
def _canon(values: tuple) -> dict:
    return {fold(v): v for v in values}


def load_profile(name_or_path: str | Path | None = None) -> Profile:
    """Load a profile by its id (one shipped in the package) or by file path."""
    if not name_or_path or name_or_path == DEFAULT_PROFILE:
        return _default_profile()
    return _load(name_or_path)


@functools.lru_cache(maxsize=1)
def _default_profile() -> Profile:
    return _load(DEFAULT_PROFILE)


def _load(name_or_path) -> Profile:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ProfileError(f"{path}: can't read the profile ({exc.strerror})") from None
        where = str(path)
    else:
        res = resources.files("ecm_xl.profiles").joinpath(f"{name_or_path}.toml")
        if not res.is_file() or res.name == VOCABULARY_FILE:
            raise ProfileError(f"no plan profile named {name_or_path!r}; shipped: {', '.join(shipped_profiles())}")
        text = res.read_bytes()
        where = f"{name_or_path}.toml"
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: not a valid TOML profile ({exc})") from None
    return profile_from_dict(doc, where)


def shipped_profiles() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("ecm_xl.profiles").iterdir()
                  if p.name.endswith(".toml") and p.name != VOCABULARY_FILE)


def profile_from_dict(doc: dict, where: str = "profile") -> Profile:
    """Build and check a Profile from parsed TOML."""
    try:
        head = doc["profile"]
        staff = doc["staff_types"]
        services = doc["services"]
        effective = head["effective_date"]
        if not isinstance(effective, dt.date):
            raise ProfileError(f"{where}: effective_date must be a TOML date (YYYY-MM-DD)")
        contacts = tuple(
            Contact(c["name"], c.get("mode", ""), str(c.get("place_of_service", "")), c.get("note", ""))
            for c in doc["contacts"]
        )
        codes = tuple(
            Code(
                hcpcs=c["hcpcs"].strip().upper(),
                modifier_1=c.get("modifier_1", "").strip().upper(),
                modifier_2=c.get("modifier_2", "").strip().upper(),
                staff_type=c["staff_type"],
                service=c["service"],
                contact_mode=c["contact_mode"],
                description=c.get("description", ""),
                rate=float(c["rate"]) if c.get("rate") is not None else None,
            )
            for c in doc["codes"]
        )
        activities = tuple(
            Activity(a["name"], bool(a["billable"]), a.get("reason", "")) for a in doc.get("activities", ())
        )
        approval = doc.get("approval", {})
        profile = Profile(
            id=head["id"],
            name=head["name"],
            plan=head.get("plan", ""),
            version=str(head["version"]),
            effective_date=effective,
            source=head["source"],
            unit_minutes=int(head["unit_minutes"]),
            filing_limit_days=int(head["filing_limit_days"]),
            rate_note=head.get("rate_note", ""),
            clinical=staff["clinical"],
            non_clinical=staff["non_clinical"],
            care_service=services["care"],
            outreach_service=services["outreach"],
            contacts=contacts,
            codes=codes,
            activities=activities,
            approval_yes=tuple(approval.get("yes", ("Yes",))),
            approval_no=tuple(approval.get("no", ("No",))),
            places_of_service={str(k): v for k, v in doc.get("place_of_service", {}).items()},
        )
        vocabulary = default_vocabulary()
        if "vocabulary" in doc:
            vocabulary = vocabulary_from_dict(doc["vocabulary"], f"{where} [vocabulary]", vocabulary)
    except VocabularyError as exc:
        raise ProfileError(str(exc)) from None
    except KeyError as exc:
        raise ProfileError(f"{where}: missing required key {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ProfileError):
            raise
        raise ProfileError(f"{where}: {exc}") from None
    by_name = {c.name: c for c in contacts}
    words = {kind: vocabulary.value_words(kind) for kind in ("contact", "service", "staff_type")}
    profile = profile._replace(vocabulary=vocabulary, index={
        "contact": {**{w: by_name[v] for w, v in words["contact"].items() if v in by_name},
                    **{fold(c.name): c for c in contacts}},
        "service": {**{w: v for w, v in words["service"].items() if v in profile.services},
                    **{fold(v): v for v in profile.services}},
        "staff_type": {**{w: v for w, v in words["staff_type"].items() if v in profile.staff_types},
                       **{fold(v): v for v in profile.staff_types}},
        "activity": {fold(a.name): a for a in activities},
        "slot": {(c.staff_type, c.service, c.contact_mode): c for c in codes},
        "key": {c.key: c for c in codes},
    })
    _check(profile, where)
    return profile


def _check(p: Profile, where: str) -> None:
    if p.unit_minutes <= 0:
        raise ProfileError(f"{where}: unit_minutes must be positive")
    modes = {c.mode for c in p.contacts if c.mode}
    seen = {}
    for code in p.codes:
        if code.staff_type not in p.staff_types:
            raise ProfileError(f"{where}: code {code.label} names unknown staff type {code.staff_type!r}")
        if code.service not in p.services:
            raise ProfileError(f"{where}: code {code.label} names unknown service {code.service!r}")
        if code.contact_mode not in modes:
            raise ProfileError(f"{where}: code {code.label} names contact mode {code.contact_mode!r} no contact uses")
        slot = (code.staff_type, code.service, code.contact_mode)
        if slot in seen:
            raise ProfileError(f"{where}: {seen[slot]} and {code.label} both claim {' / '.join(slot)}")
        seen[slot] = code.label
    for st in p.staff_types:
        for sv in p.services:
            for mode in modes:
                if (st, sv, mode) not in seen:
                    raise ProfileError(f"{where}: no code for {st} / {sv} / {mode}")


def as_profile(profile) -> Profile:
    """A Profile as it is, else the profile a name or path (None: the default) loads."""
    if isinstance(profile, Profile):
        return profile
    return load_profile(profile)
