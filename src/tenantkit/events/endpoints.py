"""Which webhook endpoints a tenant may subscribe: an SSRF guard for SNS http(s) deliveries.

A tenant-supplied URL must never point SNS (or anything we run) at internal addresses:
the instance metadata service, loopback, private networks. Hosts are refused in every
notation a URL parser might accept (decimal, hex and octal IPv4, IPv4-mapped IPv6), and
URLs that different parsers could read differently (userinfo, backslashes, spaces,
percent-encoded hosts) are refused outright instead of being interpreted.

Names are refused by what they say, without DNS: special-use and private-use names
(``*.local``, ``*.internal``, ``*.svc`` ...), and names that spell an internal address
the way wildcard-DNS services read them (``169.254.169.254.nip.io``,
``10-0-0-1.sslip.io``, ``magic-0a000001.nip.io``, ``fe80--1.sslip.io``). Any domain can be
served by such name servers, so the spelling is refused under every suffix. A name can
still resolve anywhere; configure a ``resolver`` to check where it points.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from tenantkit.errors import EndpointRefusedError

__all__ = ["EndpointPolicy", "Resolver", "system_resolver"]

Resolver = Callable[[str], Iterable[str]]
"""Returns every A/AAAA address of a host name (as strings)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_URL_LENGTH = 2048
_URL_CHARS = re.compile(r"[!#$%&'()*+,./0-9:;=?@A-Z\[\]_a-z~-]+\Z", re.ASCII)
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z", re.ASCII)
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)\Z", re.ASCII | re.IGNORECASE)
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Special-use and private-use domains: they name hosts inside a network, never a public
#: webhook receiver. RFC 6761 (``test``), RFC 6762 and its appendix G (``local`` and the
#: private top-level names in use), RFC 8375 (``home.arpa``; no ``.arpa`` name is a
#: webhook), Kubernetes (``svc``, ``cluster.local``), cloud metadata (``internal``).
_INTERNAL_DOMAINS = (
    "localdomain",
    "local",
    "lan",
    "home",
    "internal",
    "intranet",
    "private",
    "corp",
    "svc",
    "arpa",
    "test",
)
#: Names that resolve to loopback: ``localhost`` (RFC 6761) and public domains whose
#: every name points at 127.0.0.1.
_LOOPBACK_DOMAINS = (
    "localhost",
    "localhost.localdomain",
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "lacolhost.com",
    "localhost.direct",
)
_DECIMAL_OCTET = re.compile(r"[0-9]{1,3}\Z", re.ASCII)
_HEX_IPV4 = re.compile(r"(?:0x)?[0-9a-f]{8}\Z", re.ASCII)
_DASHED_IPV6 = re.compile(r"[0-9a-f-]{2,39}\Z", re.ASCII)
_REFUSED_ADDRESS = (
    "webhook endpoints must be public addresses, not loopback, private, link-local, "
    "shared, multicast or reserved ones"
)


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
        if _under(host, _LOOPBACK_DOMAINS):
            if self.allow_loopback:
                return
            raise EndpointRefusedError("webhook endpoints may not point at localhost")
        if _under(host, _INTERNAL_DOMAINS):
            raise EndpointRefusedError(
                "webhook endpoints may not use internal or special-use host names "
                "(.local, .internal, .svc, .lan, .home.arpa and the like)"
            )
        if len(labels) < 2:
            raise EndpointRefusedError(
                "the endpoint host must be a fully qualified public name such as hooks.example.com"
            )
        for address in _embedded_addresses(host):
            if self._refuses(address):
                raise EndpointRefusedError(
                    "the endpoint host name embeds a loopback, private, link-local or reserved "
                    "address (as nip.io- and sslip.io-style names do); use a public name"
                )

    def _check_address(self, address: IPAddress) -> None:
        if self._refuses(address):
            raise EndpointRefusedError(_REFUSED_ADDRESS)

    def _refuses(self, address: IPAddress) -> bool:
        embedded = _embedded_ipv4(address)
        target = embedded if embedded is not None else address
        if target.is_loopback and self.allow_loopback:
            return False
        return not _is_public(target)


def _under(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


def _embedded_addresses(host: str) -> Iterator[IPAddress]:
    """Every IP address a wildcard-DNS service could read in a host name.

    - four decimal octets in a row, separated by dots or dashes, anywhere in the name
      (``10.0.0.1.nip.io``, ``app-10-0-0-1.sslip.io``, ``app-10.0.0.1.nip.io``);
    - eight hex digits between separators, ``0x`` optional (``0a000001.nip.io``,
      ``app-7f000001.nip.io``);
    - IPv6 with dashes for colons inside one label (``fe80--1.sslip.io``), after any
      prefix ending in a dash. The ``xn--`` of an IDNA label is not a ``::``.

    Other spellings (binary, base 36, decimal integers) exist on some services; the
    resolver, not this list, is the complete check.
    """
    tokens = re.split(r"[.-]", host)
    for start in range(len(tokens) - 3):
        run = tokens[start : start + 4]
        if all(_DECIMAL_OCTET.match(t) and int(t) < 256 for t in run):
            yield ipaddress.IPv4Address(".".join(str(int(t)) for t in run))
    for token in tokens:
        if _HEX_IPV4.match(token):
            yield ipaddress.IPv4Address(int(token[-8:], 16))
    for label in host.split("."):
        yield from _dashed_ipv6(label[4:] if label.startswith("xn--") else label)


def _dashed_ipv6(label: str) -> list[ipaddress.IPv6Address]:
    """The IPv6 readings of a label at its leftmost start, as sslip.io reads it.

    Every reading from that start is returned (an address may end at any dash): a
    public name such as ``2a01-4f8-c17-b8f--2`` also holds readings further right
    (``c17-b8f--2``, reserved space) that no wildcard-DNS service takes.
    """
    if label.count("-") < 2:
        return []
    dashes = [i for i, char in enumerate(label) if char == "-"]
    # An address starts at the label's start or next to a dash, and ends likewise.
    bounds = sorted({0, len(label), *dashes, *(i + 1 for i in dashes)})
    for i, start in enumerate(bounds):
        readings = []
        for end in bounds[i + 1 :]:
            candidate = label[start:end]
            if candidate.count("-") < 2 or not _DASHED_IPV6.match(candidate):
                continue
            try:
                readings.append(ipaddress.IPv6Address(candidate.replace("-", ":")))
            except ValueError:
                continue
        if readings:
            return readings
    return []


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
    labels = host.rstrip(".").split(".")
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
