"""EnvelopeSigner: the tenant travels with queued work, and nobody can change it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tenantkit.context import TenantContext, tenant_scope
from tenantkit.errors import ConfigurationError, EnvelopeError, NoTenantContextError
from tenantkit.events import EnvelopeSigner, SecretKey, SecretsManagerKey
from tests.events.conftest import KEY, SECRET, ctx


def sealed(signer: EnvelopeSigner, payload: object = None, tenant: str = "texas") -> str:
    with tenant_scope(ctx(tenant, "admin", "ranger")):
        return signer.seal({"park": "big-bend"} if payload is None else payload)


def test_seal_and_open_round_trip() -> None:
    signer = EnvelopeSigner(KEY)
    body = sealed(signer)
    context, payload = signer.open(body)
    assert payload == {"park": "big-bend"}
    assert context.tenant_id == "texas"
    assert context.user_id == "user-texas"
    assert context.roles == frozenset({"admin", "ranger"})
    envelope = json.loads(body)
    assert envelope["v"] == 1
    assert len(envelope["env"]["messageId"]) == 32
    assert abs(envelope["env"]["issuedAt"] - time.time() * 1000) < 5_000


def resign(envelope: dict[str, Any], secret: str = SECRET) -> str:
    """The documented wire format, signed by hand: HMAC-SHA256 over canonical JSON."""
    signed = {"v": envelope["v"], "env": envelope["env"]}
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    mac = hmac.new(secret.encode(), canonical.encode("ascii"), hashlib.sha256).digest()
    envelope["sig"] = base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")
    return json.dumps(envelope)


def test_open_envelope_keeps_the_signed_id_and_issue_time() -> None:
    signer = EnvelopeSigner(KEY)
    body = sealed(signer)
    opened = signer.open_envelope(body)
    env = json.loads(body)["env"]
    assert (opened.message_id, opened.issued_at_ms) == (env["messageId"], env["issuedAt"])
    assert (opened.context.tenant_id, opened.payload) == ("texas", {"park": "big-bend"})
    # Each seal has its own id, so equal payloads stay distinct envelopes.
    assert signer.open_envelope(sealed(signer)).message_id != opened.message_id


@pytest.mark.parametrize("message_id", ["", "a#b", "x" * 129, 7, None, ["a"], "\u00e9"])
def test_a_malformed_message_id_is_refused_even_when_signed(message_id: object) -> None:
    signer = EnvelopeSigner(KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["messageId"] = message_id
    body = resign(envelope)
    with pytest.raises(EnvelopeError, match="message id"):
        signer.open(body)
    envelope["env"]["messageId"] = "0123456789abcdef" * 2
    assert signer.open_envelope(resign(envelope)).message_id == "0123456789abcdef" * 2


def test_seal_needs_a_tenant() -> None:
    with pytest.raises(NoTenantContextError):
        EnvelopeSigner(KEY).seal({})


def test_request_id_travels_too() -> None:
    signer = EnvelopeSigner(KEY)
    with tenant_scope(TenantContext("texas", "u1", request_id="req-42")):
        body = signer.seal([1, 2])
    context, payload = signer.open(body)
    assert (context.request_id, payload) == ("req-42", [1, 2])


def test_flipped_tenant_id_with_signature_kept_is_refused() -> None:
    signer = EnvelopeSigner(KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["tenantId"] = "california"
    with pytest.raises(EnvelopeError, match="signature"):
        signer.open(json.dumps(envelope))


@pytest.mark.parametrize(
    "edit",
    [
        lambda e: e["env"].update(userId="mallory"),
        lambda e: e["env"].update(roles=["admin", "ranger", "superuser"]),
        lambda e: e["env"].update(payload={"park": "yosemite"}),
        lambda e: e["env"].update(issuedAt=e["env"]["issuedAt"] + 1),
        lambda e: e.update(sig=e["sig"][:-2] + ("AA" if e["sig"][-2:] != "AA" else "BB")),
    ],
)
def test_any_edit_breaks_the_signature(edit: Any) -> None:
    signer = EnvelopeSigner(KEY)
    envelope = json.loads(sealed(signer))
    edit(envelope)
    with pytest.raises(EnvelopeError):
        signer.open(json.dumps(envelope))


def test_duplicate_keys_cannot_smuggle_a_second_tenant() -> None:
    signer = EnvelopeSigner(KEY)
    body = sealed(signer)
    smuggled = body.replace('"tenantId":"texas"', '"tenantId":"california","tenantId":"texas"')
    assert smuggled != body
    with pytest.raises(EnvelopeError, match="not an envelope"):
        signer.open(smuggled)


def test_another_secret_does_not_verify() -> None:
    body = sealed(EnvelopeSigner(KEY))
    with pytest.raises(EnvelopeError, match="signature"):
        EnvelopeSigner(SecretKey("x" * 32)).open(body)


def test_replay_beyond_max_age_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(KEY, max_age=timedelta(minutes=5))
    body = sealed(signer)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 299)
    assert signer.open(body)[0].tenant_id == "texas"
    monkeypatch.setattr(time, "time", lambda: now + 301)
    with pytest.raises(EnvelopeError, match="older than max_age"):
        signer.open(body)


def test_max_age_in_seconds_and_from_the_future(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(KEY, max_age=10)
    body = sealed(signer)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 11)
    with pytest.raises(EnvelopeError, match="max_age"):
        signer.open(body)
    monkeypatch.setattr(time, "time", lambda: now - 3600)
    with pytest.raises(EnvelopeError, match="future"):
        signer.open(body)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "hello",
        "null",
        "[]",
        '{"v": 1}',
        '{"Type": "Notification", "Message": "x"}',
        '{"v": 1, "env": {}, "sig": "x"}',
        '{"v": 1, "env": [], "sig": "x"}',
        '{"v": 1, "env": {}, "sig": 5}',
        '{"v": NaN, "env": {}, "sig": "x"}',
        b"\xff\xfe",
        12,
    ],
)
def test_bodies_that_are_not_envelopes_are_refused(body: Any) -> None:
    with pytest.raises(EnvelopeError):
        EnvelopeSigner(KEY).open(body)


@pytest.mark.parametrize("version", [0, 2, "1", True, 1.0])
def test_unknown_versions_are_refused(version: object) -> None:
    signer = EnvelopeSigner(KEY)
    envelope = json.loads(sealed(signer))
    envelope["v"] = version
    with pytest.raises(EnvelopeError, match="version"):
        signer.open(json.dumps(envelope))


def test_payload_must_be_json() -> None:
    with tenant_scope(ctx("texas")), pytest.raises(EnvelopeError, match="JSON"):
        EnvelopeSigner(KEY).seal({"when": object()})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EnvelopeSigner(SecretKey("too-short")), "32 bytes"),
        (lambda: EnvelopeSigner(SecretKey(b"\x00" * 31)), "32 bytes"),
        (lambda: EnvelopeSigner(SECRET), "SecretKey"),  # type: ignore[arg-type]
        (lambda: EnvelopeSigner(None), "SecretKey"),  # type: ignore[arg-type]
        (lambda: EnvelopeSigner(KEY, max_age=0), "max_age"),
        (lambda: EnvelopeSigner(KEY, max_age=timedelta(seconds=-1)), "max_age"),
    ],
)
def test_configuration_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_the_secret_never_appears_in_errors() -> None:
    signer = EnvelopeSigner(KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["tenantId"] = "california"
    with pytest.raises(EnvelopeError) as info:
        signer.open(json.dumps(envelope))
    assert SECRET not in str(info.value)
    assert base64.b64encode(SECRET.encode()).decode() not in str(info.value)


class TestSecretsManager:
    @pytest.fixture
    def secrets(self) -> Any:
        with mock_aws():
            client = boto3.client("secretsmanager", region_name="us-east-1")
            client.create_secret(Name="raw", SecretString=SECRET)
            client.create_secret(Name="json", SecretString=json.dumps({"signature": SECRET}))
            client.create_secret(Name="short", SecretString="short")
            yield client

    def count_calls(self, client: Any) -> list[str]:
        calls: list[str] = []
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        return calls

    def test_fetched_lazily_once(self, secrets: Any) -> None:
        calls = self.count_calls(secrets)
        signer = EnvelopeSigner(SecretsManagerKey("raw", client=secrets))
        assert calls == []
        body = sealed(signer)
        assert signer.open(body)[1] == {"park": "big-bend"}
        assert calls == ["GetSecretValue"]
        assert EnvelopeSigner(KEY).open(body)[0].tenant_id == "texas"

    def test_json_key(self, secrets: Any) -> None:
        signer = EnvelopeSigner(SecretsManagerKey("json", json_key="signature", client=secrets))
        assert signer.open(sealed(signer))[0].tenant_id == "texas"
        wrong = EnvelopeSigner(SecretsManagerKey("raw", json_key="signature", client=secrets))
        with pytest.raises(ConfigurationError, match="JSON object"):
            sealed(wrong)

    def test_short_secret_refused_on_first_use(self, secrets: Any) -> None:
        signer = EnvelopeSigner(SecretsManagerKey("short", client=secrets))
        with pytest.raises(ConfigurationError, match="32 bytes"):
            sealed(signer)

    def test_rotation_is_picked_up_after_a_failed_verification(
        self, secrets: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        consumer = EnvelopeSigner(SecretsManagerKey("raw", client=secrets))
        sealed(consumer)  # caches the old secret
        rotated = "a-rotated-secret-that-is-32-bytes-or-more"
        secrets.put_secret_value(SecretId="raw", SecretString=rotated)
        body = sealed(EnvelopeSigner(SecretKey(rotated)))
        calls = self.count_calls(secrets)
        later = time.monotonic() + 61
        monkeypatch.setattr(time, "monotonic", lambda: later)
        assert consumer.open(body)[0].tenant_id == "texas"
        assert calls == ["GetSecretValue"]
        # Forgeries do not make it hammer Secrets Manager: at most one fetch per cooldown.
        forged = json.loads(body)
        forged["env"]["tenantId"] = "california"
        for _ in range(3):
            with pytest.raises(EnvelopeError):
                consumer.open(json.dumps(forged))
        assert calls == ["GetSecretValue"]
