"""A watch over the networks recent attributions came from, to catch a proxy's address.

Behind a load balancer or a proxy, a host that passes the address it sees as
``Identity(ip=...)`` gives every sign-up one network, and the guards send every friend
to review. The program keeps the network signal of its last attributions in memory
and warns once (`referralkit.errors.SharedNetworkWarning`) when most of them share one.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

from referralkit.context import Signal

__all__ = ["NetworkWatch"]

#: How many recent attributions are watched, and how many must be seen before a warning.
WINDOW = 50
MINIMUM = 20


class NetworkWatch:
    """The network signals of the last `WINDOW` attributions; warns once, when most share one."""

    def __init__(self, window: int = WINDOW, minimum: int = MINIMUM) -> None:
        self._seen: deque[str | None] = deque(maxlen=window)
        self._minimum = minimum
        self._warned = False
        self._lock = threading.Lock()

    def saw(self, signals: frozenset[Signal]) -> tuple[int, int] | None:
        """Record one attribution's signals; ``(shared, seen)`` the first time most share one.

        More than half of at least `MINIMUM` recent attributions on one network: the
        answer is how many shared it and how many were seen; every other time, None.
        """
        network = next((digest for kind, digest in signals if kind == "network"), None)
        with self._lock:
            if self._warned:
                return None
            self._seen.append(network)
            seen = len(self._seen)
            if seen < self._minimum:
                return None
            top, shared = Counter(self._seen).most_common(1)[0]
            if top is None or shared * 2 <= seen:
                return None
            self._warned = True
            return shared, seen
