"""mask_endpoint shows the scheme, the last two host labels and the last 4 characters only.

The model of what may be shown is written here, in the test, and the masking is checked
against it over generated URLs with secrets in every place a webhook URL carries one.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.events import mask_endpoint

SUFFIX = "/hook"  # something after every secret, so the last 4 characters are "hook"


def shown(scheme: str, subdomains: list[str], domain: str, url: str) -> str:
    """The model: what everyone but the owner and admins may see of ``url``."""
    hidden_labels = "***." if subdomains else ""
    return f"{scheme}://{hidden_labels}{domain}/***{url[-4:]}"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://hooks.example.com/in;key=Q9x7Zr2Lm4Np/hook", "Q9x7Zr2Lm4Np"),
        ("https://hooks.example.com/in;jsessionid=ABCDEFGH;v=1/hook", "ABCDEFGH"),
        ("https://hooks.example.com/t/Abc123.Def456.Ghi789/hook", "Abc123.Def456.Ghi789"),
        (
            "https://hooks.example.com/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl/hook",
            "eyJzdWIiOiIxIn0",
        ),
        ("https://hooks.example.com/hooks/QwErTyUiOpAsDfGhJkL/hook", "QwErTyUiOpAsDfGhJkL"),
        ("https://hooks.example.com/hooks/lettersonlysecret/hook", "lettersonlysecret"),
        ("https://s3cr3tlabel.hooks.example.com/hook", "s3cr3tlabel"),
        ("https://a1b2c3d4e5.example.com/hook", "a1b2c3d4e5"),
        ("https://hooks.example.com/x?token=Zq8Wm3Kd9Lx2&v=1/hook", "Zq8Wm3Kd9Lx2"),
        ("https://hooks.example.com/x#access_token=Zq8Wm3Kd9Lx2/hook", "Zq8Wm3Kd9Lx2"),
        ("https://hooks.example.com:8443/hook", "8443"),
        ("https://user:Pa55w0rdXyz@hooks.example.com/hook", "Pa55w0rdXyz"),
        ("https://hooks.slack.com/services/T0001/B0001/AbCdEf1234567890XyZ/hook", "T0001"),
    ],
)
def test_every_secret_form_is_hidden(url: str, secret: str) -> None:
    masked = mask_endpoint(url)
    assert secret not in masked
    assert masked.endswith("/***hook")
    assert masked.startswith("https://")


def test_examples() -> None:
    assert mask_endpoint("https://hooks.example.com/parks?token=s3cret") == (
        "https://***.example.com/***cret"
    )
    assert mask_endpoint("https://example.com/") == "https://example.com/***com/"
    assert mask_endpoint("http://127.0.0.1:3000/hook") == "http://***.0.1/***hook"
    assert mask_endpoint("https://[2606:4700::1111]/x") == "https://[2606:4700::1111]/***1]/x"
    for garbage in ("", "not a url", "https://[::1/x", "https:///path"):
        assert mask_endpoint(garbage) == "***"


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
# Shown labels are letters only, so no digit in the mask can come from them.
domains = st.builds(
    lambda name, tld: f"{name}.{tld}",
    st.from_regex(r"[a-z]([a-z-]{0,8}[a-z])?", fullmatch=True),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
)
schemes = st.sampled_from(["https", "http"])
middles = st.text(
    alphabet="abcXYZ0189-._~;=&?#/+%!$'()*,:@", min_size=0, max_size=40
)  # path, matrix parameters, query and fragment characters
ports = st.none() | st.integers(min_value=1, max_value=65535)
tails = st.text(alphabet="abcXYZ0189-._~=/", min_size=4, max_size=4)


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes,
    domain=domains,
    subdomains=st.lists(labels, max_size=3),
    other_subdomains=st.lists(labels, max_size=3),
    ports=st.tuples(ports, ports),
    middles=st.tuples(middles, middles),
    tail=tails,
)
def test_the_mask_depends_only_on_what_it_shows(
    scheme: str,
    domain: str,
    subdomains: list[str],
    other_subdomains: list[str],
    ports: tuple[int | None, int | None],
    middles: tuple[str, str],
    tail: str,
) -> None:
    """Two URLs that agree on the shown parts mask alike, whatever else they carry."""
    if bool(other_subdomains) != bool(subdomains):
        other_subdomains = []
        subdomains = []
    urls = []
    for subs, port, middle in zip((subdomains, other_subdomains), ports, middles, strict=True):
        host = ".".join([*subs, domain])
        netloc = host if port is None else f"{host}:{port}"
        urls.append(f"{scheme}://{netloc}/{middle}{tail}")
    first, second = (mask_endpoint(url) for url in urls)
    assert first == second == shown(scheme, subdomains, domain, urls[0])


upper_secrets = st.from_regex(r"[A-Z0-9]{8,24}", fullmatch=True)
SECRET_FORMS = {
    "path segment": lambda s: f"/hooks/{s}",
    "matrix parameter": lambda s: f"/in;key={s}",
    "dotted token": lambda s: f"/t/{s[:4]}.{s[4:]}.{s[::-1]}",
    "jwt-shaped token": lambda s: f"/eyJhbGciOiJIUzI1NiJ9.{s}.{s[::-1]}",
    "letters only": lambda s: "/" + "".join(c for c in s if c.isalpha()).ljust(8, "Q"),
    "query value": lambda s: f"/x?token={s}&v=1",
    "fragment": lambda s: f"/x#{s}",
}


@settings(max_examples=300, deadline=None)
@given(
    scheme=schemes,
    domain=domains,
    subdomains=st.lists(labels, max_size=2),
    form=st.sampled_from(sorted(SECRET_FORMS)),
    secret=upper_secrets,
    # With a digit, which no shown (letters-only) label has.
    host_secret=st.from_regex(r"[a-z0-9]{4,10}[0-9][a-z0-9]{3,9}", fullmatch=True),
)
def test_no_part_of_an_embedded_secret_shows(
    scheme: str,
    domain: str,
    subdomains: list[str],
    form: str,
    secret: str,
    host_secret: str,
) -> None:
    """A secret anywhere but the last 4 characters never shows, not even 5 of its characters.

    Path secrets are upper case and digits, which nothing shown contains (hosts are lower
    case, the tail is "hook"), so any 5-character window of them in the mask is a leak.
    """
    host = ".".join([host_secret, *subdomains, domain])
    url = f"{scheme}://{host}{SECRET_FORMS[form](secret)}{SUFFIX}"
    masked = mask_endpoint(url)
    assert masked == shown(scheme, [host_secret, *subdomains], domain, url)
    embedded = SECRET_FORMS[form](secret)
    windows = {embedded[i : i + 5] for i in range(len(embedded) - 4)}
    assert not {w for w in windows if any(c.isupper() or c.isdigit() for c in w)} & {
        masked[i : i + 5] for i in range(len(masked) - 4)
    }
    assert host_secret not in masked
