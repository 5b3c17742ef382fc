"""`CodeFormat`: what a code looks like, validated once, compiled into lookup tables."""

from __future__ import annotations

import math
import string
import unicodedata
from typing import Any

import attrs

from referralkit.codes._check import quasigroup
from referralkit.codes._parse import parse_code
from referralkit.codes._tables import Tables
from referralkit.errors import ConfigError

__all__ = ["CROCKFORD", "DEFAULT_FORMAT", "CodeFormat", "resolve_format"]

#: Crockford's base-32: digits and upper-case letters without I, L, O and U.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: A format must leave at least this many bits of randomness in each code.
MIN_ENTROPY_BITS = 25.0
#: Longest code body (random characters and check) and longest prefix a format accepts.
MAX_LENGTH = 64
MAX_PREFIX = 16

_ALLOWED = frozenset(string.ascii_uppercase + string.digits)


def _config_error(message: str, value: Any, path: str) -> ConfigError:
    return ConfigError(message, value=value, path=path)


def _require_int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _config_error(f"{path} must be an int, not {value!r}", value, path)
    return value


def _safe_length(n: int, check: bool, bits: float) -> int:
    """The shortest length that gives at least ``bits`` of randomness."""
    return math.ceil(bits / math.log2(n) - 1e-9) + (1 if check else 0)


class _Compiled:
    """Holds a format's lookup tables in a slot that is not an attrs field.

    The tables stay out of ``repr``, ``==``, ``hash``, ``attrs.fields`` and
    ``attrs.asdict``; they are rebuilt from the fields on copy and unpickling.
    """

    __slots__ = ("_tables",)
    _tables: Tables


@attrs.frozen(slots=True, cache_hash=True)
class CodeFormat(_Compiled):
    """The shape of generated codes.

    Attributes:
        length: characters after the prefix, the check character included. The
            default 8 gives 7 random Crockford characters (35 bits) and a check
            character, shown as ``XXXX-XXXX``.
        prefix: fixed characters in front of every code (``"RK"``); they must come from
            the alphabet and are covered by the check character.
        check: append a check character that catches every single-character typo
            and every swap of two adjacent characters.
        group: show codes in groups of this many characters (``0``: no dashes).
        alphabet: the characters codes are made of: distinct upper-case ASCII letters
            and digits. Crockford base-32 by default.

    A format must leave at least 25 bits of randomness per code (the error names
    the shortest safe length); lengths go up to 64 and prefixes up to 16 characters.
    Alphabet sizes 6, 14, 18, 22, 26, 30 and 34 have no check scheme and need
    ``check=False``; see :attr:`check_scheme` for what a format's check catches.

    Raises:
        ConfigError: a field is invalid; ``.path`` names the field.
    """

    length: int = 8
    prefix: str = ""
    check: bool = True
    group: int = 4
    alphabet: str = CROCKFORD

    def __attrs_post_init__(self) -> None:
        _validate_alphabet(self.alphabet)
        length = _require_int(self.length, "length")
        if length < 1:
            raise _config_error(f"length must be at least 1, not {length}", length, "length")
        if length > MAX_LENGTH:
            raise _config_error(
                f"length must be at most {MAX_LENGTH} (codes are typed by people)",
                length,
                "length",
            )
        if not isinstance(self.check, bool):
            raise _config_error(
                f"check must be True or False, not {self.check!r}", self.check, "check"
            )
        group = _require_int(self.group, "group")
        if group < 0:
            raise _config_error(f"group must be 0 (no dashes) or more, not {group}", group, "group")
        _validate_prefix(self.prefix, self.alphabet)
        n = len(self.alphabet)
        q = quasigroup(n) if self.check else None
        if self.check and q is None:
            raise _config_error(
                f"no check character scheme exists here for an alphabet of {n} characters "
                "(sizes 2 mod 4 other than 2 and 10 are not supported); "
                "add or remove a character, or pass check=False",
                self.alphabet,
                "check",
            )
        bits = self.entropy_bits
        if bits < MIN_ENTROPY_BITS:
            safe = _safe_length(n, self.check, MIN_ENTROPY_BITS)
            raise _config_error(
                f"length {length} is too short to be safe: it leaves {bits:.1f} bits of "
                f"randomness, at least {MIN_ENTROPY_BITS:g} are needed; use length={safe} or more",
                length,
                "length",
            )
        tables = Tables(
            alphabet=self.alphabet,
            prefix=self.prefix,
            length=length,
            random_chars=self.random_chars,
            quasigroup=q,
            described=_describe_alphabet(self.alphabet),
        )
        object.__setattr__(self, "_tables", tables)

    def __reduce__(self) -> tuple[type[CodeFormat], tuple[int, str, bool, int, str]]:
        return (CodeFormat, (self.length, self.prefix, self.check, self.group, self.alphabet))

    @property
    def random_chars(self) -> int:
        """How many characters of each code are random (the length minus the check)."""
        return self.length - (1 if self.check else 0)

    @property
    def entropy_bits(self) -> float:
        """Bits of randomness per code: random characters * log2(alphabet size)."""
        return self.random_chars * math.log2(len(self.alphabet))

    @property
    def space(self) -> int:
        """How many different codes this format can produce."""
        return int(len(self.alphabet) ** self.random_chars)

    @property
    def check_scheme(self) -> str:
        """The check character's scheme and what it guarantees, in words."""
        q = self._tables.quasigroup
        if q is None:
            return "none: typos are caught only when the mistyped code is not issued"
        catches = (
            "every single-character substitution and every adjacent transposition"
            if q.catches_transpositions
            else "every single-character substitution, but no transposition"
        )
        return f"Damm check over {q.name}; catches {catches}"

    def display(self, code: str) -> str:
        """``code`` grouped for print: ``K3J9-2QWX``, ``RK-K3J9-2QWX``.

        The code is normalised first, so any accepted typing of it works.

        Raises:
            InvalidCode: ``code`` is not a valid code of this format.
        """
        canonical = parse_code(code, self._tables)
        group = self.group
        if not group:
            return canonical
        body = canonical[len(self.prefix) :]
        parts = [body[i : i + group] for i in range(0, len(body), group)]
        if self.prefix:
            parts.insert(0, self.prefix)
        return "-".join(parts)


def _validate_alphabet(alphabet: object) -> None:
    if not isinstance(alphabet, str):
        raise _config_error(f"alphabet must be a str, not {alphabet!r}", alphabet, "alphabet")
    if len(alphabet) < 2 or len(alphabet) > 256:  # noqa: PLR2004 - documented bounds
        raise _config_error(
            f"alphabet must have 2 to 256 characters, not {len(alphabet)}", alphabet, "alphabet"
        )
    lower = sorted({ch for ch in alphabet if ch.islower()})
    if lower:
        raise _config_error(
            f"alphabet must be upper case (input is case-insensitive); found {''.join(lower)!r}",
            alphabet,
            "alphabet",
        )
    bad = sorted({ch for ch in alphabet if ch not in _ALLOWED}, key=ord)
    if bad:
        raise _config_error(
            f"alphabet may use only ASCII letters A-Z and digits 0-9; found {''.join(bad)!r}",
            alphabet,
            "alphabet",
        )
    dupes = sorted({ch for ch in alphabet if alphabet.count(ch) > 1})
    if dupes:
        raise _config_error(
            f"alphabet has repeated characters: {''.join(dupes)!r}", alphabet, "alphabet"
        )


def _validate_prefix(prefix: object, alphabet: str) -> None:
    if not isinstance(prefix, str):
        raise _config_error(f"prefix must be a str, not {prefix!r}", prefix, "prefix")
    # ß upper-cases to SS, ﬁ to FI, full-width R (U+FF32) normalises to R: a prefix that changes
    # like that would be printed, typed and matched as something else than was asked for.
    changed = {ch: _changed(ch) for ch in prefix if not ch.isascii() and _changed(ch) != ch}
    if changed:
        shown = ", ".join(f"{ch!a} becomes {to!r}" for ch, to in changed.items())
        raise _config_error(
            f"prefix {prefix!a} changes when upper-cased or normalised ({shown}); "
            "use the alphabet's ASCII letters and digits",
            prefix,
            "prefix",
        )
    if len(prefix) > MAX_PREFIX:
        raise _config_error(f"prefix must be at most {MAX_PREFIX} characters", prefix, "prefix")
    bad = sorted({ch for ch in prefix if ch not in alphabet}, key=ord)
    if bad:
        raise _config_error(
            f"prefix {prefix!r} uses characters outside the alphabet: {''.join(bad)!r}",
            prefix,
            "prefix",
        )


def _changed(ch: str) -> str:
    """``ch`` upper-cased and NFKC-normalised, as a code's reader would see it."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).upper())


def _describe_alphabet(alphabet: str) -> str:
    if alphabet == CROCKFORD:
        return "digits and letters except I, L, O and U"
    return f"only the characters {alphabet}"


DEFAULT_FORMAT = CodeFormat()


def resolve_format(fmt: object) -> CodeFormat:
    """``fmt``, or `DEFAULT_FORMAT` for ``None``; anything else is a `ConfigError` at ``fmt``."""
    if fmt is None:
        return DEFAULT_FORMAT
    if not isinstance(fmt, CodeFormat):
        raise _config_error(
            f"fmt must be a CodeFormat (or None for the default), not {type(fmt).__name__}",
            fmt,
            "fmt",
        )
    return fmt
