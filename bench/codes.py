"""Bulk code generation and normalisation speed.

1. One million distinct default codes with ``referralkit.codes.generate_codes`` against
   ``nanoid.generate(CROCKFORD, 8)`` called in a loop until a set holds a million
   (nanoid codes carry no check character; referralkit's do).
2. ``normalize_code`` over a million display-form, lower-case codes (``k3j9-2qwx``).

Best of 3 with ``time.perf_counter``. Run: ``python bench/codes.py [count]``.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from nanoid import generate as nanoid_generate

from referralkit.codes import CROCKFORD, DEFAULT_FORMAT, generate_codes, normalize_code

if TYPE_CHECKING:
    from collections.abc import Callable

REPEATS = 3


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def nanoid_codes(count: int) -> set[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(nanoid_generate(CROCKFORD, 8))
    return codes


def normalize_all(typed: list[str]) -> None:
    normalize = normalize_code
    for text in typed:
        normalize(text)


def main(count: int) -> None:
    print(f"generating {count:,} distinct 8-character Crockford codes, best of {REPEATS}")
    ours = best_of(lambda: generate_codes(count))
    print(f"  referralkit.generate_codes      {ours:8.3f} s  ({count / ours:12,.0f} codes/s)")
    theirs = best_of(lambda: nanoid_codes(count))
    print(f"  nanoid.generate loop into a set {theirs:8.3f} s  ({count / theirs:12,.0f} codes/s)")
    print(f"  referralkit is {theirs / ours:.1f}x faster")

    typed = [DEFAULT_FORMAT.display(code).lower() for code in generate_codes(count)]
    took = best_of(lambda: normalize_all(typed))
    print(f"normalize_code over {count:,} display-form codes such as {typed[0]!r}")
    print(f"  {took:8.3f} s  ({count / took:12,.0f} codes/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
