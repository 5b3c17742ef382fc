"""`CodeFormat`: what a code looks like, validated once, compiled into lookup tables."""

from __future__ import annotations

import math
import string
from typing import Any

import attrs

from referralkit.codes._check import Quasigroup, fold, gf_mul, quasigroup
from referralkit.errors import ConfigError

__all__ = ["CROCKFORD", "DEFAULT_FORMAT", "CodeFormat"]

#: Crockford's base-32: digits and upper-case letters without I, L, O and U.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: A format must leave at least this many bits of randomness in each code.
MIN_ENTROPY_BITS = 25.0
#: Longest code body (random characters and check) and longest prefix a format accepts.
MAX_LENGTH = 64
MAX_PREFIX = 16

_ALLOWED = frozenset(string.ascii_uppercase + string.digits)
#: Characters people type between groups; removed wherever they appear.
_SEPARATORS = " \t\n\r\v\f-_"
#: Non-ASCII separators seen in pasted text: NBSP, soft hyphen, Unicode dashes and
#: minus, zero-width space, ideographic space, fullwidth hyphen, BOM.
_UNICODE_SEPARATORS = (
    "\u00a0\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u200b\u3000\uff0d\ufeff"
)
#: Letters read as digits when the alphabet lacks the letter but has the digit.
_LOOKALIKES = {"O": "0", "I": "1", "L": "1"}
#: What an invalid ASCII character turns into during normalisation (never in an alphabet).
MARKER = "!"
#: Index value of the separator between codes in the bulk generator's buffer.
SEPARATOR_INDEX = 255


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
    _tables: _Tables


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
        object.__setattr__(self, "_tables", _Tables(self, q))

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
        from referralkit.codes._normalize import normalize_code  # noqa: PLC0415 - import cycle

        canonical = normalize_code(code, self)
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
    if len(prefix) > MAX_PREFIX:
        raise _config_error(f"prefix must be at most {MAX_PREFIX} characters", prefix, "prefix")
    bad = sorted({ch for ch in prefix if ch not in alphabet}, key=ord)
    if bad:
        raise _config_error(
            f"prefix {prefix!r} uses characters outside the alphabet: {''.join(bad)!r}",
            prefix,
            "prefix",
        )


def _normalize_table(alphabet: str) -> dict[int, int | None]:
    """The ``str.translate`` table: case folding, look-alikes, separators, a marker for the rest."""
    table: dict[int, int | None] = {}
    for cp in range(128):
        ch = chr(cp)
        up = ch.upper()
        if up in alphabet:
            table[cp] = ord(up)
        elif up in _LOOKALIKES and _LOOKALIKES[up] in alphabet:
            table[cp] = ord(_LOOKALIKES[up])
        elif ch in _SEPARATORS:
            table[cp] = None
        else:
            table[cp] = ord(MARKER)
    for ch in _UNICODE_SEPARATORS:
        table[ord(ch)] = None
    return table


def _describe_alphabet(alphabet: str) -> str:
    if alphabet == CROCKFORD:
        return "digits and letters except I, L, O and U"
    return f"only the characters {alphabet}"


class _Tables:
    """Everything normalisation and generation look up, computed once per format."""

    __slots__ = (
        "alphabet",
        "described",
        "fold128",
        "max_input",
        "mod_table",
        "n",
        "normalize",
        "prefix",
        "prefix_indices",
        "prefix_state",
        "quasigroup",
        "random_chars",
        "reject",
        "rows",
        "to_ascii",
        "to_zero",
        "total",
        "weights",
    )

    n: int
    alphabet: str
    prefix: str
    total: int
    max_input: int
    random_chars: int
    normalize: dict[int, int | None]
    described: str
    quasigroup: Quasigroup | None
    #: ``fold128[state*128 + ascii] == next_state*128``; empty without a check.
    fold128: tuple[int, ...]
    #: Bulk generation: random byte -> index (uniform), rejected bytes, index -> ASCII.
    mod_table: bytes
    reject: bytes
    to_ascii: bytes
    prefix_indices: bytes
    #: GF(2^k) alphabets: per body position, index -> weighted contribution to the check.
    weights: tuple[bytes, ...]
    #: Other alphabets: per state, the row ``state ∘ ·`` as bytes, and state -> check
    #: (both padded to 256 bytes for ``bytes.translate``).
    rows: tuple[bytes, ...]
    to_zero: bytes
    prefix_state: int

    def __init__(self, fmt: CodeFormat, q: Quasigroup | None) -> None:
        alphabet = fmt.alphabet
        n = len(alphabet)
        self.n = n
        self.alphabet = alphabet
        self.prefix = fmt.prefix
        self.total = len(fmt.prefix) + fmt.length
        self.max_input = 4 * self.total + 16
        self.random_chars = fmt.random_chars
        self.normalize = _normalize_table(alphabet)
        self.described = _describe_alphabet(alphabet)
        self.quasigroup = q

        index = {ch: i for i, ch in enumerate(alphabet)}
        self.prefix_indices = bytes(index[ch] for ch in fmt.prefix)
        limit = 256 - 256 % n
        self.mod_table = bytes(b % n if b < limit else 0 for b in range(256))
        self.reject = bytes(range(limit, 256))
        to_ascii = bytearray(256)
        to_ascii[:n] = alphabet.encode("ascii")
        to_ascii[SEPARATOR_INDEX] = ord("\n")
        self.to_ascii = bytes(to_ascii)

        self.fold128 = ()
        self.weights = ()
        self.rows = ()
        self.to_zero = b""
        self.prefix_state = 0
        if q is None:
            return
        fold128 = [0] * (n * 128)
        for s in range(n):
            for ch, i in index.items():
                fold128[s * 128 + ord(ch)] = q.op(s, i) * 128
        self.fold128 = tuple(fold128)
        self.to_zero = bytes(q.to_zero).ljust(256, b"\0")
        self.prefix_state = fold(q, self.prefix_indices)
        if q.gf_bits:
            self.weights = _gf_weights(q, self.prefix_indices, self.random_chars)
        else:
            # Padded to 256 so a row can also serve as a ``bytes.translate`` table.
            self.rows = tuple(bytes(q.table[s * n : s * n + n]).ljust(256, b"\0") for s in range(n))


def _gf_weights(q: Quasigroup, prefix: bytes, random_chars: int) -> tuple[bytes, ...]:
    """Tables for the linear check over GF(2^k).

    The fold of ``x_0 .. x_{m-1}`` is ``XOR_j a^(m-1-j)·x_j``, and the check is
    ``a`` times that: ``c = XOR_j a^(m-j)·x_j``. Body position ``i`` (after the
    prefix) therefore weighs ``a^(random_chars - i)``; the prefix's constant share is
    folded into the table of position 0.
    """
    k, a, n = q.gf_bits, q.gf_a, q.order
    m = len(prefix) + random_chars
    powers = [1]
    for _ in range(m):
        powers.append(gf_mul(powers[-1], a, k))
    constant = 0
    for j, x in enumerate(prefix):
        constant ^= gf_mul(powers[m - j], x, k)
    tables = []
    for i in range(random_chars):
        w = powers[random_chars - i]
        extra = constant if i == 0 else 0
        table = bytes((gf_mul(w, x, k) ^ extra) if x < n else 0 for x in range(256))
        tables.append(table)
    return tuple(tables)


DEFAULT_FORMAT = CodeFormat()
