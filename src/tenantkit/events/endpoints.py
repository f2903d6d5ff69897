"""Which webhook endpoints a tenant may subscribe: an SSRF guard for SNS http(s) deliveries.

A tenant-supplied URL must never point SNS (or anything we run) at internal addresses:
the instance metadata service, loopback, private networks. Hosts are refused in every
notation a URL parser might accept (decimal, hex and octal IPv4, IPv4-mapped IPv6), and
URLs that different parsers could read differently (userinfo, backslashes, spaces,
percent-encoded hosts) are refused outright instead of being interpreted.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from tenantkit.errors import EndpointRefusedError

__all__ = ["EndpointPolicy", "Resolver", "mask_endpoint", "system_resolver"]

Resolver = Callable[[str], Iterable[str]]
"""Returns every A/AAAA address of a host name (as strings)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_URL_LENGTH = 2048
_URL_CHARS = re.compile(r"[!#$%&'()*+,./0-9:;=?@A-Z\[\]_a-z~-]+\Z", re.ASCII)
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z", re.ASCII)
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)\Z", re.ASCII | re.IGNORECASE)
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_INTERNAL_SUFFIXES = (".localhost", ".internal")
_SECRET_SEGMENT = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}\Z", re.ASCII)


def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver: every A and AAAA address."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    """Validates webhook URLs before they are subscribed. Strict unless told otherwise.

    - ``allow_http``: accept ``http://`` URLs (default: https only).
    - ``allow_loopback``: accept ``localhost`` and loopback addresses, for local
      development with ``tenantkit local``; private and metadata addresses stay refused.
    - ``resolver``: when set, every A/AAAA address of a host name must be public too.
      ``system_resolver`` uses DNS; tests inject a function instead.
    """

    allow_http: bool = False
    allow_loopback: bool = False
    resolver: Resolver | None = None

    def check(self, url: str, *, protocol: str = "https") -> str:
        """Return ``url`` unchanged if it may be subscribed, else raise ``EndpointRefusedError``."""
        if protocol not in ("http", "https"):
            raise EndpointRefusedError("webhook protocol must be 'https' (or 'http' if allowed)")
        parts = _split(url)
        if parts.scheme != protocol:
            raise EndpointRefusedError(
                f"the endpoint scheme does not match protocol={protocol!r}; use a {protocol}:// URL"
            )
        if parts.scheme == "http" and not self.allow_http:
            raise EndpointRefusedError("webhook endpoints must use https://")
        host = parts.hostname or ""
        address = _parse_ip_literal(host, bracketed=parts.netloc.startswith("["))
        if address is not None:
            self._check_address(address)
            return url
        self._check_name(host)
        if self.resolver is not None:
            try:
                addresses = list(self.resolver(host))
            except (OSError, UnicodeError):  # NXDOMAIN, resolver down, undecodable name
                raise EndpointRefusedError("the endpoint host does not resolve") from None
            if not addresses:
                raise EndpointRefusedError("the endpoint host does not resolve to any address")
            for text in addresses:
                try:
                    resolved = ipaddress.ip_address(text)
                except ValueError:
                    raise EndpointRefusedError(
                        "the resolver returned something that is not an IP address"
                    ) from None
                self._check_address(resolved)
        return url

    def _check_name(self, host: str) -> None:
        labels = host.split(".")
        if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise EndpointRefusedError("the endpoint host is not a valid DNS name")
        if host == "localhost" or host.endswith(".localhost"):
            if self.allow_loopback:
                return
            raise EndpointRefusedError("webhook endpoints may not point at localhost")
        if host.endswith(_INTERNAL_SUFFIXES):
            raise EndpointRefusedError("webhook endpoints may not use internal host names")
        if len(labels) < 2:
            raise EndpointRefusedError(
                "the endpoint host must be a fully qualified public name such as hooks.example.com"
            )

    def _check_address(self, address: IPAddress) -> None:
        embedded = _embedded_ipv4(address)
        target = embedded if embedded is not None else address
        if target.is_loopback and self.allow_loopback:
            return
        if not _is_public(target):
            raise EndpointRefusedError(
                "webhook endpoints must be public addresses, not loopback, private, link-local, "
                "shared, multicast or reserved ones"
            )


def _split(url: object) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise EndpointRefusedError("the endpoint must be a non-empty URL string")
    if len(url) > _MAX_URL_LENGTH:
        raise EndpointRefusedError(f"the endpoint URL is longer than {_MAX_URL_LENGTH} characters")
    if not _URL_CHARS.match(url):
        raise EndpointRefusedError(
            "the endpoint URL contains characters that parse ambiguously (spaces, backslashes, "
            "control or non-ASCII characters); percent-encode the path and use punycode hosts"
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "Invalid IPv6 URL" for an unbalanced "["
        raise EndpointRefusedError("the endpoint URL does not parse") from None
    netloc = parts.netloc
    if "@" in netloc:
        raise EndpointRefusedError("endpoint URLs may not contain credentials (user@host)")
    if "%" in netloc:
        raise EndpointRefusedError("endpoint hosts may not be percent-encoded")
    if not url.lower().startswith(f"{parts.scheme}://") or parts.scheme not in ("http", "https"):
        raise EndpointRefusedError("the endpoint must be an absolute http(s):// URL")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise EndpointRefusedError("the endpoint port is not a number from 0 to 65535") from None
    if netloc.startswith("["):
        if not re.fullmatch(r"\[[0-9A-Fa-f:.]+\](:[0-9]+)?", netloc):
            raise EndpointRefusedError("the endpoint's bracketed IPv6 host is malformed")
    elif "[" in netloc or "]" in netloc or netloc.count(":") > 1:
        raise EndpointRefusedError("the endpoint host parses ambiguously")
    if not parts.hostname:
        raise EndpointRefusedError("the endpoint URL has no host")
    return parts


def _parse_ip_literal(host: str, *, bracketed: bool) -> IPAddress | None:
    """An IP address written in any notation a browser or curl would accept, else None."""
    if bracketed:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise EndpointRefusedError("the endpoint's IPv6 address is malformed") from None
    labels = host.rstrip(".").split(".") if host != "." else [""]
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    # WHATWG/inet_aton rules: 1-4 parts, each decimal, 0x-hex or 0-octal; the last
    # part fills the remaining bytes. "2852039166", "0xA9FEA9FE" and "0177.0.0.1" all
    # name real addresses, so anything numeric-looking is parsed or refused.
    if len(labels) > 4:
        raise EndpointRefusedError("the endpoint host looks like an IPv4 address but is not one")
    numbers = [_parse_ipv4_part(label) for label in labels]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise EndpointRefusedError("the endpoint host looks like an IPv4 address but is not one")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ipv4_part(label: str) -> int:
    text = label.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text, 8)
        return int(text, 10)
    except ValueError:
        raise EndpointRefusedError(
            "the endpoint host looks like an IPv4 address but is not one"
        ) from None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: IPAddress) -> bool:
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address not in _SHARED_ADDRESS_SPACE and address.is_global
    return not address.is_site_local and address.is_global


def mask_endpoint(url: str) -> str:
    """``url`` with what may be a credential hidden: query values, tokens in the path.

    Webhook URLs often carry a secret (``?token=...``, ``/hooks/T0/B0/abcd1234...``);
    a listing of subscriptions must not show it to everyone who can list them.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = "/".join(
        "***" if _SECRET_SEGMENT.match(segment) else segment for segment in parts.path.split("/")
    )
    query = urlencode(
        [(key, "***") for key, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*"
    )
    return SplitResult(parts.scheme, netloc, path, query, "").geturl()
