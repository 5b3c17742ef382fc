"""The lookup tables a `CodeFormat` compiles into, shared by parsing and generation.

A format is validated once and compiled into these tables; normalising, checking and
generating codes then only look things up. This module knows nothing of `CodeFormat`
itself: the format hands over its validated fields.
"""

from __future__ import annotations

from referralkit.codes._check import Quasigroup, fold, gf_mul

__all__ = ["MARKER", "SEPARATOR_INDEX", "Tables"]

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


class Tables:
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

    def __init__(
        self,
        *,
        alphabet: str,
        prefix: str,
        length: int,
        random_chars: int,
        quasigroup: Quasigroup | None,
        described: str,
    ) -> None:
        """Compile a validated format's fields; ``described`` names its alphabet in messages."""
        q = quasigroup
        n = len(alphabet)
        self.n = n
        self.alphabet = alphabet
        self.prefix = prefix
        self.total = len(prefix) + length
        self.max_input = 4 * self.total + 16
        self.random_chars = random_chars
        self.normalize = _normalize_table(alphabet)
        self.described = described
        self.quasigroup = q

        index = {ch: i for i, ch in enumerate(alphabet)}
        self.prefix_indices = bytes(index[ch] for ch in prefix)
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
