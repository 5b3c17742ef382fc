"""Referral codes: generate, display, normalise and validate them.

Generated codes are Crockford base-32 by default (no ``I``, ``L``, ``O``, ``U``) and
end with a Damm check character that catches every single-character typo and every
swap of two adjacent characters. Typed input is forgiving; the canonical form is
strict. Vanity codes (an influencer's ``ANNA10``) are validated separately, and a
program finds every code by its `code_key` (case, spaces and dashes ignored).

```python
from referralkit.codes import generate_code, normalize_code

code = generate_code()                    # 'K3J92QWX'
assert normalize_code(code.lower()) == code
```
"""

from __future__ import annotations

from referralkit.codes._format import CROCKFORD, DEFAULT_FORMAT, CodeFormat
from referralkit.codes._generate import Rng, generate_code, generate_codes
from referralkit.codes._guess import guess_probability
from referralkit.codes._normalize import is_valid_code, normalize_code
from referralkit.codes._vanity import (
    DEFAULT_VANITY_BLOCKLIST,
    code_key,
    validate_vanity,
    vanity_key,
)

__all__ = [
    "CROCKFORD",
    "DEFAULT_FORMAT",
    "DEFAULT_VANITY_BLOCKLIST",
    "CodeFormat",
    "Rng",
    "code_key",
    "generate_code",
    "generate_codes",
    "guess_probability",
    "is_valid_code",
    "normalize_code",
    "validate_vanity",
    "vanity_key",
]
