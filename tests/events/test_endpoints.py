"""EndpointPolicy: the SSRF guard for webhook URLs, tried with every notation we know."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.errors import EndpointRefusedError
from tenantkit.events import EndpointPolicy

STRICT = EndpointPolicy()
LOCAL = EndpointPolicy(allow_http=True, allow_loopback=True)

# Each of these names an internal address (or parses ambiguously) and must be refused.
REFUSED = [
    # URLs the standard library cannot even split
    "https://[abc/hook",
    "https://abc]/hook",
    # userinfo: credentials, and the classic "good@evil" confusion
    "https://u:p@hooks.example.com/",
    "https://good@169.254.169.254/",
    "https://hooks.example.com@169.254.169.254/",
    # loopback, private, link-local, CGNAT, unspecified, multicast, reserved
    "https://127.0.0.1/",
    "https://127.0.0.2:8443/x",
    "https://[::1]/",
    "https://10.0.0.5/",
    "https://172.16.3.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://224.0.0.1/",
    "https://[ff02::1]/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://192.0.2.1/",
    # the same addresses in other notations
    "https://[::ffff:169.254.169.254]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://2852039166/",
    "https://0xA9FEA9FE/",
    "https://0xa9.0xfe.0xa9.0xfe/",
    "https://0177.0.0.1/",
    "https://0177.1/",
    "https://127.1/",
    "https://0/",
    "https://169.254.169.254./",
    # names
    "https://localhost/",
    "https://LOCALHOST/",
    "https://api.localhost/",
    "https://metadata.google.internal/",
    "https://ip-10-0-0-1.ec2.internal/",
    "https://intranet/",
    # ambiguous parsing
    "https://hooks.example.com\\@169.254.169.254/",
    "https://hooks.example.com /",
    "https://hooks.example.com\t/",
    "https://h\u043eoks.example.com/",
    "https://%31%32%37.0.0.1/",
    "https://[fe80::1%25eth0]/",
    "https://1.2.3.4.5/",
    "https://999.1.1.1/",
    "https://example.123/",
    "https://hooks.example.com:99999/",
    "https://hooks.example.com:80:443/",
    "https:hooks.example.com/",
    "https:///hooks.example.com/",
    "//hooks.example.com/",
    "https://-bad.example.com/",
    "https://hooks..example.com/",
    "",
    # scheme
    "http://hooks.example.com/",
    "ftp://hooks.example.com/",
    "file:///etc/passwd",
    "gopher://hooks.example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_strict_policy_refuses(url: str) -> None:
    with pytest.raises(EndpointRefusedError):
        STRICT.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/webhooks/parks",
        "https://HOOKS.Example.com:8443/a?b=c",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://xn--bcher-kva.example/hook",
    ],
)
def test_strict_policy_accepts_public_https(url: str) -> None:
    assert STRICT.check(url) == url


def test_default_is_https_only_and_http_needs_the_matching_protocol() -> None:
    with pytest.raises(EndpointRefusedError, match="https"):
        STRICT.check("http://hooks.example.com/", protocol="http")
    with pytest.raises(EndpointRefusedError, match="scheme"):
        LOCAL.check("http://hooks.example.com/", protocol="https")
    with pytest.raises(EndpointRefusedError, match="protocol"):
        LOCAL.check("http://hooks.example.com/", protocol="email")
    assert LOCAL.check("http://hooks.example.com/", protocol="http")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "http://localhost:3000/", "http://[::1]:9000/"]
)
def test_local_development_opt_in_allows_loopback(url: str) -> None:
    assert LOCAL.check(url, protocol="http") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://10.0.0.5/",
        "http://[::ffff:169.254.169.254]/",
        "http://0xA9FEA9FE/",
        "http://u:p@127.0.0.1/",
        "http://metadata.google.internal/",
    ],
)
def test_local_development_opt_in_still_refuses_everything_but_loopback(url: str) -> None:
    with pytest.raises(EndpointRefusedError):
        LOCAL.check(url, protocol="http")


def test_resolver_hook_checks_every_address() -> None:
    records = {
        "public.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "rebind.example.com": ["93.184.216.34", "169.254.169.254"],
        "inside.example.com": ["10.1.2.3"],
        "v6inside.example.com": ["::ffff:127.0.0.1"],
        "nothing.example.com": [],
        "junk.example.com": ["not-an-address"],
    }
    asked: list[str] = []

    def resolver(host: str) -> list[str]:
        asked.append(host)
        if host == "gone.example.com":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return records[host]

    policy = EndpointPolicy(resolver=resolver)
    assert policy.check("https://public.example.com/hook")
    for host in ("rebind", "inside", "v6inside", "nothing", "junk", "gone"):
        with pytest.raises(EndpointRefusedError):
            policy.check(f"https://{host}.example.com/hook")
    assert asked[0] == "public.example.com"
    # IP literals need no resolution.
    with pytest.raises(EndpointRefusedError):
        policy.check("https://10.0.0.1/")
    assert "10.0.0.1" not in asked


def test_without_a_resolver_no_dns_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("DNS was used")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert STRICT.check("https://hooks.example.com/")


def test_system_resolver_reads_the_hosts_file() -> None:
    from tenantkit.events import system_resolver

    addresses = system_resolver("localhost")
    assert set(addresses) & {"127.0.0.1", "::1"}
    with pytest.raises(EndpointRefusedError):
        EndpointPolicy(resolver=system_resolver).check("https://localhost/")


# --- SSRF by host name (issue 11, item 7) ---------------------------------------------
# Wildcard DNS services (nip.io, sslip.io, xip.io, and any domain "branded" with their
# name servers) answer with the address spelled in the name. So a name embedding a
# private address in any spelling they accept is an internal address.

NAMES_EMBEDDING_INTERNAL_ADDRESSES = [
    "169.254.169.254.nip.io",
    "app.169.254.169.254.nip.io",
    "app-169.254.169.254.nip.io",
    "169-254-169-254.sslip.io",
    "www-169-254-169-254.sslip.io",
    "169-254-169-254.xip.example.com",
    "10-0-0-1.sslip.io",
    "10.0.0.1.nip.io",
    "192-168-1-250.nip.io",
    "0a000001.nip.io",
    "magic-0a000001.nip.io",
    "customer3-app-7f000101.nip.io",
    "a9fea9fe.nip.io",
    "0-0-0-0.nip.io",
    "100-64-0-1.sslip.io",
    "--1.sslip.io",
    "www--1.sslip.io",
    "fe80--1.sslip.io",
    "fd00--1.sslip.io",
    "--ffff-a9fe-a9fe.sslip.io",
    "0000-0000-0000-0000-0000-0000-0000-0001.sslip.io",
    "www.0x0a000001.example.com",
]


@pytest.mark.parametrize("host", NAMES_EMBEDDING_INTERNAL_ADDRESSES)
def test_attack_names_embedding_internal_addresses_are_refused(host: str) -> None:
    # (A label may not start with a dash, so --1 is refused as no DNS name at all.)
    with pytest.raises(EndpointRefusedError, match=r"embeds|not a valid DNS name") as refused:
        STRICT.check(f"https://{host}/hook")
    assert host not in str(refused.value)
    # Loopback development does not open private or metadata addresses by name either.
    if host not in {"--1.sslip.io", "www--1.sslip.io", "customer3-app-7f000101.nip.io"} and (
        "0000-0001" not in host
    ):
        with pytest.raises(EndpointRefusedError):
            LOCAL.check(f"http://{host}/hook", protocol="http")


INTERNAL_NAMES = [
    "localhost.localdomain",
    "printer.localdomain",
    "kubernetes.default.svc",
    "api.default.svc.cluster.local",
    "printer.local",
    "nas.lan",
    "router.home.arpa",
    "1.0.0.127.in-addr.arpa",
    "metadata.google.internal",
    "wiki.intranet",
    "vault.corp",
    "db.private",
    "nas.home",
    "myapp.test",
    "app.localtest.me",
    "anything.lvh.me",
]


@pytest.mark.parametrize("host", INTERNAL_NAMES)
def test_attack_internal_names_are_refused(host: str) -> None:
    with pytest.raises(EndpointRefusedError) as refused:
        STRICT.check(f"https://{host}/hook?token=s3cret")
    assert host not in str(refused.value)
    assert "s3cret" not in str(refused.value)
    if host not in {"localhost.localdomain", "app.localtest.me", "anything.lvh.me"}:
        with pytest.raises(EndpointRefusedError):
            LOCAL.check(f"http://{host}/hook", protocol="http")


@pytest.mark.parametrize("host", ["localhost.localdomain", "app.localtest.me", "127-0-0-1.nip.io"])
def test_loopback_names_are_loopback_for_local_development(host: str) -> None:
    assert LOCAL.check(f"http://{host}:3000/", protocol="http")


@pytest.mark.parametrize(
    "host",
    [
        "8.8.8.8.nip.io",
        "www-93-184-216-34.sslip.io",
        "2a01-4f8-c17-b8f--2.sslip.io",
        "5db8d822.nip.io",
        "hooks.example.com",
        "api-v2.example.com",
        "build-2024-01-15.example.com",
        "xn--caf-dma.example.com",
        "xn--80ak6aa92e.example.com",
        "local.example.com",
        "internal-hooks.example.com",
    ],
)
def test_public_names_with_numbers_still_pass(host: str) -> None:
    assert STRICT.check(f"https://{host}/hook")


# The test's own model of "not a public address" (IANA special-purpose registries), kept
# apart from tenantkit's: addresses inside these are internal, addresses outside are public.
INTERNAL_V4 = [
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/29",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
INTERNAL_V6 = [
    ipaddress.IPv6Network(net)
    for net in ("::1/128", "::/128", "fe80::/10", "fc00::/7", "ff00::/8", "2001:db8::/32")
]
# Neither clearly public nor in the list above (special-purpose blocks with exceptions).
UNCLEAR_V4 = [ipaddress.IPv4Network(n) for n in ("192.0.0.0/24", "192.88.99.0/24")]
SUFFIXES = ["nip.io", "sslip.io", "xip.example.com", "hooks.example.net"]
words = st.text("ghijklmnopqrstuvwxyz", min_size=1, max_size=10)


@st.composite
def internal_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    net = draw(st.sampled_from(INTERNAL_V4))
    return net[draw(st.integers(0, net.num_addresses - 1))]


public_v4 = (
    st.integers(0, 2**32 - 1)
    .map(ipaddress.IPv4Address)
    .filter(lambda address: not any(address in net for net in INTERNAL_V4 + UNCLEAR_V4))
)
# Global unicast, away from the special-purpose 2001::/16 and 6to4 2002::/16 blocks.
public_v6 = st.integers(0x2400 << 112, (0x2C00 << 112) - 1).map(ipaddress.IPv6Address)


@st.composite
def internal_v6(draw: st.DrawFn) -> ipaddress.IPv6Address:
    mapped = draw(internal_v4().map(lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}")))
    net = draw(st.sampled_from(INTERNAL_V6))
    native = net[draw(st.integers(0, net.num_addresses - 1))]
    return draw(st.sampled_from([mapped, native]))


def v4_spellings(address: ipaddress.IPv4Address, word: str) -> list[str]:
    dotted = str(address)
    dashed = dotted.replace(".", "-")
    hexed = f"{int(address):08x}"
    return [
        dotted,
        f"{word}.{dotted}",
        f"{word}-{dotted}",
        dashed,
        f"{word}-{dashed}",
        f"{word}.{dashed}",
        hexed,
        hexed.upper(),
        f"{word}-{hexed}",
        f"{word}-{word}-{hexed}",
    ]


def v6_spellings(address: ipaddress.IPv6Address, word: str) -> list[str]:
    compressed = address.compressed.replace(":", "-")
    exploded = address.exploded.replace(":", "-")
    return [compressed, exploded, f"{word}-{compressed}", f"{word}.{exploded}"]


@settings(max_examples=300, deadline=None)
@given(
    address=internal_v4() | internal_v6(),
    word=words,
    suffix=st.sampled_from(SUFFIXES),
    spelling=st.integers(0, 9),
)
def test_property_any_spelling_of_an_internal_address_in_a_name_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, word: str, suffix: str, spelling: int
) -> None:
    if isinstance(address, ipaddress.IPv4Address):
        forms = v4_spellings(address, word)
    else:
        forms = v6_spellings(address, word)
    host = f"{forms[spelling % len(forms)]}.{suffix}"
    with pytest.raises(EndpointRefusedError):
        STRICT.check(f"https://{host}/hook")


@settings(max_examples=300, deadline=None)
@given(
    address=public_v4 | public_v6,
    labels=st.lists(words, min_size=1, max_size=4),
    suffix=st.sampled_from(SUFFIXES),
    spelling=st.integers(0, 9),
    embed=st.booleans(),
)
def test_property_public_names_and_names_of_public_addresses_pass(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    labels: list[str],
    suffix: str,
    spelling: int,
    embed: bool,
) -> None:
    if isinstance(address, ipaddress.IPv4Address):
        form = v4_spellings(address, labels[0])[spelling]
    else:  # the exploded form: four-digit groups never read as a dotted or hex IPv4
        form = f"{labels[0]}-{address.exploded.replace(':', '-')}"
    word = "-".join(labels)
    host = f"{form}.{suffix}" if embed else f"{'.'.join(labels)}.{word}.{suffix}"
    url = f"https://{host}/hook"
    assert STRICT.check(url) == url


# --- issue 16: boundaries found by mutation testing -----------------------------------

# 253 characters: the longest name DNS can carry (four labels of up to 63).
LONGEST_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57 + ".com"])


@pytest.mark.parametrize(
    "url",
    [
        "https://134744072/",  # 8.8.8.8 as one decimal number
        "https://0x08080808/",
        "https://0x8.0x8.0x8.0x8/",
        "https://010.010.010.010/",  # octal
        "https://8.8.2056/",  # the last part fills the remaining bytes
        "https://8.526344/",
        "https://8.0x.8.8/",  # WHATWG reads a bare 0x as 0
        "https://8.255.8.8/",
        "https://8.8.8.8./",  # a trailing dot names the same address
        "https://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8
        "https://[2A01:4F8::1]/",
        "https://[2a01:4f8::1]/",
        "https://hooks-10-0-0-256.example.com/",  # 256 is no octet
        f"https://{LONGEST_NAME}/",
        "https://hooks.example.com/" + "a" * (2048 - len("https://hooks.example.com/")),
    ],
)
def test_every_notation_of_a_public_address_is_read_as_that_address(url: str) -> None:
    assert STRICT.check(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://1.2.3.4.0/",  # five parts, though the last would fit in none
        "https://8.256.8.8/",  # a leading part over 255 would carry into the one before
        "https://8.8.8.256/",  # the last part one past its bytes
        "https://4294967296/",  # 2**32
        "https://8.8.8.08/",  # 08 is no octal number
        "https://0x7f000001/",
        "https://127.0.0.1./",
        "https://[4000::1]/",  # reserved, though not in ipaddress' private list
        "https://[fec0::1]/",  # deprecated site-local
        "https://hooks.app-10-0-0-1/",  # four octets at the very end of the name
        "https://xn----1.sslip.io/",  # after the xn-- prefix, --1 reads ::1
        "https://fe80-1-2-3-4-5-6-7-app.sslip.io/",  # an address ending at a dash
        f"https://e{LONGEST_NAME[1:]}x/",
        f"https://{LONGEST_NAME}/" + "a" * (2049 - len(f"https://{LONGEST_NAME}/")),
    ],
)
def test_boundaries_of_each_notation_are_refused(url: str) -> None:
    with pytest.raises(EndpointRefusedError):
        STRICT.check(url)


@pytest.mark.parametrize("url", [5, b"https://hooks.example.com/", ["https://hooks.example.com/"]])
def test_an_endpoint_that_is_not_a_string_is_refused_not_crashed_on(url: object) -> None:
    with pytest.raises(EndpointRefusedError):
        STRICT.check(url)  # type: ignore[arg-type]
