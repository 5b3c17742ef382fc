"""Hypothesis strategies shared by the test suite (append new ones by topic)."""

from __future__ import annotations

import math
import random
import string
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from referralkit.codes import CROCKFORD, CodeFormat

if TYPE_CHECKING:
    from collections.abc import Callable

# -- codes ---------------------------------------------------------------------------------

#: Every character an alphabet may use.
ALPHABET_CHARS = string.digits + string.ascii_uppercase
#: Alphabet sizes without a check scheme (2 mod 4, except 2 and 10).
UNSUPPORTED_CHECK_SIZES = frozenset({6, 14, 18, 22, 26, 30, 34})
CHECK_SIZES = tuple(n for n in range(2, 37) if n not in UNSUPPORTED_CHECK_SIZES)
POWER_OF_TWO_SIZES = (2, 4, 8, 16, 32)
PRIME_SIZES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31)


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    """A deterministic ``rng(nbytes) -> bytes`` for code generation."""
    return random.Random(seed).randbytes


@st.composite
def alphabets(draw: st.DrawFn, sizes: tuple[int, ...] = CHECK_SIZES) -> str:
    """Valid alphabets: distinct upper-case letters and digits, in random order."""
    size = draw(st.sampled_from(sizes))
    if size == len(CROCKFORD) and draw(st.booleans()):
        return CROCKFORD
    chars = draw(st.permutations(ALPHABET_CHARS))
    return "".join(chars[:size])


def min_length(size: int, *, check: bool) -> int:
    """The shortest length a format with this alphabet size accepts (25 bits)."""
    return math.ceil(25 / math.log2(size) - 1e-9) + (1 if check else 0)


@st.composite
def code_formats(
    draw: st.DrawFn,
    sizes: tuple[int, ...] = CHECK_SIZES,
    check: bool | None = None,
    max_prefix: int = 3,
) -> CodeFormat:
    """Valid formats: any supported alphabet, length, prefix and grouping."""
    alphabet = draw(alphabets(sizes))
    has_check = draw(st.booleans()) if check is None else check
    shortest = min_length(len(alphabet), check=has_check)
    length = draw(st.integers(shortest, min(shortest + 6, 64)))
    prefix = draw(st.text(alphabet=alphabet, max_size=max_prefix))
    group = draw(st.integers(0, 6))
    return CodeFormat(length=length, prefix=prefix, check=has_check, group=group, alphabet=alphabet)


_LOOKALIKES = {"0": "Oo", "1": "IiLl"}


@st.composite
def typed_forms(draw: st.DrawFn, code: str, fmt: CodeFormat) -> str:
    """How a person might type ``code``: any case, separators anywhere, O for 0, I/L for 1."""
    out = [draw(st.sampled_from(["", " ", "\t", "  "]))]
    for ch in code:
        choices = [ch, ch.lower()]
        letters = _LOOKALIKES.get(ch, "")
        choices += [c for c in letters if c.upper() not in fmt.alphabet]
        out.append(draw(st.sampled_from(choices)))
        out.append(draw(st.sampled_from(["", "", "", "-", " ", "_", " - ", "\t"])))
    out.append(draw(st.sampled_from(["", " ", "\n"])))
    return "".join(out)


#: Any Unicode text, surrogates and control characters included.
any_text = st.text(st.characters(exclude_categories=()), max_size=80)
