"""EndpointPolicy: the SSRF guard for webhook URLs, tried with every notation we know."""

from __future__ import annotations

import socket

import pytest

from tenantkit.errors import EndpointRefusedError
from tenantkit.events import EndpointPolicy, mask_endpoint

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


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "https://hooks.example.com/a?token=s3cret&v=1",
            "https://hooks.example.com/a?token=***&v=***",
        ),
        (
            "https://hooks.slack.com/services/T0001/B0001/AbCdEf1234567890XyZ",
            "https://hooks.slack.com/services/T0001/B0001/***",
        ),
        ("https://hooks.example.com:8443/parks#frag", "https://hooks.example.com:8443/parks"),
        ("https://u:p@hooks.example.com/", "https://hooks.example.com/"),
        ("https://[2606:4700::1111]/x", "https://[2606:4700::1111]/x"),
    ],
)
def test_mask_endpoint_hides_credentials(url: str, masked: str) -> None:
    assert mask_endpoint(url) == masked


def test_system_resolver_reads_the_hosts_file() -> None:
    from tenantkit.events import system_resolver

    addresses = system_resolver("localhost")
    assert set(addresses) & {"127.0.0.1", "::1"}
    with pytest.raises(EndpointRefusedError):
        EndpointPolicy(resolver=system_resolver).check("https://localhost/")
