"""IP addresses as fraud checks compare them: the address itself and its network.

A household or an office shares one IPv4 address behind its router, and an IPv6
household gets a /64; so the network is the /24 of an IPv4 address and the /64 of an
IPv6 one. IPv4-mapped IPv6 addresses (``::ffff:203.0.113.7``) count as IPv4.
"""

from __future__ import annotations

import ipaddress

from referralkit.errors import InvalidIdentity

__all__ = ["IPV4_PREFIX", "IPV6_PREFIX", "normalize_ip"]

#: The network of an IPv4 address: its /24.
IPV4_PREFIX = 24
#: The network of an IPv6 address: its /64.
IPV6_PREFIX = 64
_MAX_TEXT = 64


def normalize_ip(ip: str) -> tuple[str, str]:
    """``(address, network)`` in canonical text, e.g. ``("203.0.113.7", "203.0.113.0/24")``.

    Surrounding space, brackets (``[2001:db8::1]``) and an IPv6 zone (``%eth0``) are
    ignored. Raises `InvalidIdentity` for text that is not an IP address.
    """
    raw: object = ip
    if not isinstance(raw, str):
        raise InvalidIdentity(
            f"an IP address is a string, not {type(raw).__name__}", value=raw, field="ip"
        )
    text = ip.strip()
    if len(text) > _MAX_TEXT:
        raise InvalidIdentity("too long for an IP address", value=ip[:_MAX_TEXT], field="ip")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidIdentity(f"{ip!r} is not an IP address", value=ip, field="ip") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX  # noqa: PLR2004 - IP version
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return str(address), str(network)
