"""Check characters: totally anti-symmetric quasigroups and the Damm fold.

A check character is computed with Damm's scheme: start with ``state = 0``, fold
every character ``x`` of the code with ``state = state ∘ x``, and choose the check
character ``c`` so that the fold of the whole code (prefix, random body, check)
ends at ``0``. When ``∘`` is a *totally anti-symmetric quasigroup* — a Latin square
in which ``(s ∘ x) ∘ y == (s ∘ y) ∘ x`` implies ``x == y`` — the fold catches every
single-character substitution (Latin square) and every transposition of two
adjacent, different characters (total anti-symmetry), wherever they happen.

Which quasigroup is used depends only on the alphabet's size ``n``:

* ``n = 2**k``, ``k >= 2``: ``x ∘ y = a·x ⊕ y`` in GF(2^k) with ``a = 2`` (the field
  element ``x``). ``(a ⊕ 1)·x = (a ⊕ 1)·y`` forces ``x = y`` because ``a ≠ 1``.
* ``n = 2``: GF(2) has no element other than 0 and 1, so the fold is plain parity
  (``a = 1``). It catches every substitution but **no** transposition, and no
  single binary check character can do better.
* ``n = p`` prime: ``x ∘ y = 2·x + y mod p`` (``a = 2``, again ``a ∉ {0, 1}``).
* any other ``n`` that is not ``2 mod 4``: the direct product of the quasigroups of
  its factors (``36 = GF(4) * Z3 * Z3``); a direct product of totally anti-symmetric
  quasigroups is totally anti-symmetric, component by component.
* ``n = 10``: Damm's published table of order 10.
* the remaining sizes (6, 14, 18, 22, 26, 30, 34 within the 36 characters an
  alphabet may use) have no scheme here: a format with such an alphabet must set
  ``check=False``. (Order 6 has no totally anti-symmetric quasigroup at all.)
"""

from __future__ import annotations

from functools import lru_cache

import attrs

__all__ = ["Quasigroup", "fold", "gf_mul", "quasigroup"]

#: Primitive polynomials for GF(2^k), as bit masks including the x^k term.
GF_POLYNOMIALS: dict[int, int] = {
    1: 0b11,  # x + 1
    2: 0b111,  # x^2 + x + 1
    3: 0b1011,  # x^3 + x + 1
    4: 0b10011,  # x^4 + x + 1
    5: 0b100101,  # x^5 + x^2 + 1
    6: 0b1000011,  # x^6 + x + 1
    7: 0b10000011,  # x^7 + x + 1
    8: 0b100011101,  # x^8 + x^4 + x^3 + x^2 + 1
}

#: H. Michael Damm's totally anti-symmetric quasigroup of order 10 (weak form: zero diagonal).
DAMM_10: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def gf_mul(x: int, y: int, k: int) -> int:
    """Multiply ``x`` by ``y`` in GF(2^k) (the polynomial of :data:`GF_POLYNOMIALS`)."""
    poly = GF_POLYNOMIALS[k]
    top = 1 << k
    result = 0
    while y:
        if y & 1:
            result ^= x
        y >>= 1
        x <<= 1
        if x & top:
            x ^= poly
    return result


@attrs.frozen(slots=True)
class Quasigroup:
    """A quasigroup of order ``order`` stored as a flat table: ``x ∘ y = table[x*order + y]``.

    ``gf_bits`` is ``k`` when the quasigroup is ``a·x ⊕ y`` over GF(2^k) with multiplier
    ``gf_a``: the fold is then linear and can be computed column by column with XOR.
    """

    order: int
    table: tuple[int, ...]
    name: str
    catches_transpositions: bool
    gf_bits: int = 0
    gf_a: int = 0

    def op(self, x: int, y: int) -> int:
        """``x ∘ y``."""
        return self.table[x * self.order + y]

    @property
    def to_zero(self) -> tuple[int, ...]:
        """``to_zero[s]`` is the check character ``c`` with ``s ∘ c == 0``."""
        n = self.order
        out = [0] * n
        for s in range(n):
            row = self.table[s * n : s * n + n]
            out[s] = row.index(0)
        return tuple(out)


def fold(q: Quasigroup, digits: bytes | list[int] | tuple[int, ...], state: int = 0) -> int:
    """Fold ``digits`` (alphabet indices) into ``state`` with the quasigroup operation."""
    n = q.order
    table = q.table
    for d in digits:
        state = table[state * n + d]
    return state


def _factor(n: int) -> list[int]:
    factors: list[int] = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def _gf_component(k: int) -> tuple[int, tuple[int, ...], str]:
    size = 1 << k
    a = 1 if k == 1 else 2
    table = tuple(gf_mul(a, x, k) ^ y for x in range(size) for y in range(size))
    name = "parity (GF(2))" if k == 1 else f"GF(2^{k}), x∘y = {a}·x ⊕ y"
    return size, table, name


def _prime_component(p: int) -> tuple[int, tuple[int, ...], str]:
    table = tuple((2 * x + y) % p for x in range(p) for y in range(p))
    return p, table, f"Z{p}, x∘y = 2·x + y mod {p}"


def _product(components: list[tuple[int, tuple[int, ...], str]]) -> tuple[int, ...]:
    # Mixed radix: the last component is the least significant digit.
    n = 1
    for size, _, _ in components:
        n *= size

    def split(x: int) -> list[int]:
        digits = []
        for size, _, _ in reversed(components):
            digits.append(x % size)
            x //= size
        digits.reverse()
        return digits

    table = []
    for x in range(n):
        xs = split(x)
        for y in range(n):
            ys = split(y)
            z = 0
            for (size, comp, _), xd, yd in zip(components, xs, ys, strict=True):
                z = z * size + comp[xd * size + yd]
            table.append(z)
    return tuple(table)


@lru_cache(maxsize=64)
def quasigroup(n: int) -> Quasigroup | None:
    """The check quasigroup for an alphabet of ``n`` characters, or ``None`` if there is none."""
    if n < 2 or n > 256:  # noqa: PLR2004 - the alphabet bounds
        return None
    if n & (n - 1) == 0:
        k = n.bit_length() - 1
        _, table, name = _gf_component(k)
        return Quasigroup(
            order=n,
            table=table,
            name=name,
            catches_transpositions=k > 1,
            gf_bits=k,
            gf_a=1 if k == 1 else 2,
        )
    if n == 10:  # noqa: PLR2004 - Damm's table of order 10
        table = tuple(v for row in DAMM_10 for v in row)
        return Quasigroup(n, table, "Damm's table of order 10", catches_transpositions=True)
    factors = _factor(n)
    twos = factors.count(2)
    if twos == 1:
        return None  # n = 2 mod 4: no scheme implemented (none exists for 6)
    components = [_gf_component(twos)] if twos else []
    components += [_prime_component(p) for p in factors if p != 2]  # noqa: PLR2004
    if len(components) == 1:
        _, table, name = components[0]
        return Quasigroup(n, table, name, catches_transpositions=True)
    name = " * ".join(c[2].split(",")[0] for c in components)
    return Quasigroup(n, _product(components), name, catches_transpositions=True)
