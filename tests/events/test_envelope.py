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
from tenantkit.events.envelope import invoke_purpose
from tests.events.conftest import KEY, SECRET, ctx

#: The purpose these tests seal and open for (a queue's).
PURPOSE = "sqs"


def sealed(signer: EnvelopeSigner, payload: object = None, tenant: str = "texas") -> str:
    with tenant_scope(ctx(tenant, "admin", "ranger")):
        return signer.seal({"park": "big-bend"} if payload is None else payload, purpose=PURPOSE)


def test_seal_and_open_round_trip() -> None:
    signer = EnvelopeSigner(key=KEY)
    body = sealed(signer)
    context, payload = signer.open(body, purpose=PURPOSE)
    assert payload == {"park": "big-bend"}
    assert context.tenant_id == "texas"
    assert context.user_id == "user-texas"
    assert context.roles == frozenset({"admin", "ranger"})
    envelope = json.loads(body)
    assert envelope["v"] == 2
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
    signer = EnvelopeSigner(key=KEY)
    body = sealed(signer)
    opened = signer.open_envelope(body, purpose=PURPOSE)
    env = json.loads(body)["env"]
    assert (opened.message_id, opened.issued_at_ms) == (env["messageId"], env["issuedAt"])
    assert (opened.context.tenant_id, opened.payload) == ("texas", {"park": "big-bend"})
    # Each seal has its own id, so equal payloads stay distinct envelopes.
    assert signer.open_envelope(sealed(signer), purpose=PURPOSE).message_id != opened.message_id


@pytest.mark.parametrize("message_id", ["", "a#b", "x" * 129, 7, None, ["a"], "\u00e9"])
def test_a_malformed_message_id_is_refused_even_when_signed(message_id: object) -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["messageId"] = message_id
    body = resign(envelope)
    with pytest.raises(EnvelopeError, match="message id"):
        signer.open(body, purpose=PURPOSE)
    envelope["env"]["messageId"] = "0123456789abcdef" * 2
    assert (
        signer.open_envelope(resign(envelope), purpose=PURPOSE).message_id == "0123456789abcdef" * 2
    )


def test_seal_needs_a_tenant() -> None:
    with pytest.raises(NoTenantContextError):
        EnvelopeSigner(key=KEY).seal({}, purpose=PURPOSE)


def test_request_id_travels_too() -> None:
    signer = EnvelopeSigner(key=KEY)
    with tenant_scope(TenantContext("texas", "u1", request_id="req-42")):
        body = signer.seal([1, 2], purpose=PURPOSE)
    context, payload = signer.open(body, purpose=PURPOSE)
    assert (context.request_id, payload) == ("req-42", [1, 2])


def test_flipped_tenant_id_with_signature_kept_is_refused() -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["tenantId"] = "california"
    with pytest.raises(EnvelopeError, match="signature"):
        signer.open(json.dumps(envelope), purpose=PURPOSE)


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
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    edit(envelope)
    with pytest.raises(EnvelopeError):
        signer.open(json.dumps(envelope), purpose=PURPOSE)


def test_duplicate_keys_cannot_smuggle_a_second_tenant() -> None:
    signer = EnvelopeSigner(key=KEY)
    body = sealed(signer)
    smuggled = body.replace('"tenantId":"texas"', '"tenantId":"california","tenantId":"texas"')
    assert smuggled != body
    with pytest.raises(EnvelopeError, match="not an envelope"):
        signer.open(smuggled, purpose=PURPOSE)


def test_another_secret_does_not_verify() -> None:
    body = sealed(EnvelopeSigner(key=KEY))
    with pytest.raises(EnvelopeError, match="signature"):
        EnvelopeSigner(key=SecretKey("x" * 32)).open(body, purpose=PURPOSE)


def test_replay_beyond_max_age_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(key=KEY, max_age=timedelta(minutes=5))
    body = sealed(signer)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 299)
    assert signer.open(body, purpose=PURPOSE)[0].tenant_id == "texas"
    monkeypatch.setattr(time, "time", lambda: now + 301)
    with pytest.raises(EnvelopeError, match="older than max_age"):
        signer.open(body, purpose=PURPOSE)


def test_max_age_in_seconds_and_from_the_future(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(key=KEY, max_age=10)
    body = sealed(signer)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 11)
    with pytest.raises(EnvelopeError, match="max_age"):
        signer.open(body, purpose=PURPOSE)
    monkeypatch.setattr(time, "time", lambda: now - 3600)
    with pytest.raises(EnvelopeError, match="future"):
        signer.open(body, purpose=PURPOSE)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "hello",
        "null",
        "[]",
        '{"v": 2}',
        '{"Type": "Notification", "Message": "x"}',
        '{"v": 2, "env": {}, "sig": "x"}',
        '{"v": 2, "env": [], "sig": "x"}',
        '{"v": 2, "env": {}, "sig": 5}',
        '{"v": NaN, "env": {}, "sig": "x"}',
        b"\xff\xfe",
        12,
    ],
)
def test_bodies_that_are_not_envelopes_are_refused(body: Any) -> None:
    with pytest.raises(EnvelopeError):
        EnvelopeSigner(key=KEY).open(body, purpose=PURPOSE)


@pytest.mark.parametrize("version", [0, 1, 3, "2", True, 2.0])
def test_unknown_versions_are_refused(version: object) -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["v"] = version
    with pytest.raises(EnvelopeError, match="version"):
        signer.open(json.dumps(envelope), purpose=PURPOSE)


def test_payload_must_be_json() -> None:
    with tenant_scope(ctx("texas")), pytest.raises(EnvelopeError, match="JSON"):
        EnvelopeSigner(key=KEY).seal({"when": object()}, purpose=PURPOSE)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EnvelopeSigner(key=SecretKey("too-short")), "32 bytes"),
        (lambda: EnvelopeSigner(key=SecretKey(b"\x00" * 31)), "32 bytes"),
        (lambda: EnvelopeSigner(key=SECRET), "SecretKey"),  # type: ignore[arg-type]
        (lambda: EnvelopeSigner(key=None), "SecretKey"),  # type: ignore[arg-type]
        (lambda: EnvelopeSigner(key=KEY, max_age=0), "max_age"),
        (lambda: EnvelopeSigner(key=KEY, max_age=timedelta(seconds=-1)), "max_age"),
    ],
)
def test_configuration_errors(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_the_key_is_named_never_positional() -> None:
    with pytest.raises(TypeError):
        EnvelopeSigner(KEY)  # type: ignore[misc]


def test_the_secret_never_appears_in_errors() -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["tenantId"] = "california"
    with pytest.raises(EnvelopeError) as info:
        signer.open(json.dumps(envelope), purpose=PURPOSE)
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
        signer = EnvelopeSigner(key=SecretsManagerKey("raw", client=secrets))
        assert calls == []
        body = sealed(signer)
        assert signer.open(body, purpose=PURPOSE)[1] == {"park": "big-bend"}
        assert calls == ["GetSecretValue"]
        assert EnvelopeSigner(key=KEY).open(body, purpose=PURPOSE)[0].tenant_id == "texas"

    def test_json_key(self, secrets: Any) -> None:
        signer = EnvelopeSigner(key=SecretsManagerKey("json", json_key="signature", client=secrets))
        assert signer.open(sealed(signer), purpose=PURPOSE)[0].tenant_id == "texas"
        wrong = EnvelopeSigner(key=SecretsManagerKey("raw", json_key="signature", client=secrets))
        with pytest.raises(ConfigurationError, match="JSON object"):
            sealed(wrong)

    def test_short_secret_refused_on_first_use(self, secrets: Any) -> None:
        signer = EnvelopeSigner(key=SecretsManagerKey("short", client=secrets))
        with pytest.raises(ConfigurationError, match="32 bytes"):
            sealed(signer)

    def test_rotation_is_picked_up_after_a_failed_verification(
        self, secrets: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        consumer = EnvelopeSigner(key=SecretsManagerKey("raw", client=secrets))
        sealed(consumer)  # caches the old secret
        rotated = "a-rotated-secret-that-is-32-bytes-or-more"
        secrets.put_secret_value(SecretId="raw", SecretString=rotated)
        body = sealed(EnvelopeSigner(key=SecretKey(rotated)))
        calls = self.count_calls(secrets)
        later = time.monotonic() + 61
        monkeypatch.setattr(time, "monotonic", lambda: later)
        assert consumer.open(body, purpose=PURPOSE)[0].tenant_id == "texas"
        assert calls == ["GetSecretValue"]
        # Forgeries do not make it hammer Secrets Manager: at most one fetch per cooldown.
        forged = json.loads(body)
        forged["env"]["tenantId"] = "california"
        for _ in range(3):
            with pytest.raises(EnvelopeError):
                consumer.open(json.dumps(forged), purpose=PURPOSE)
        assert calls == ["GetSecretValue"]


# -- exact boundaries and strictness (issue 16's mutation gaps) ----------------------------

NOW_MS = 1_800_000_000_000  # a clock reading whose seconds are exact in binary floating point


def issued(signer: EnvelopeSigner, issued_at: int) -> str:
    """A validly signed envelope issued at ``issued_at`` (epoch ms)."""
    envelope = json.loads(sealed(signer))
    envelope["env"]["issuedAt"] = issued_at
    return resign(envelope)


def test_max_age_defaults_to_an_hour_to_the_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(key=KEY)
    assert signer.max_age == 3600
    monkeypatch.setattr(time, "time", lambda: NOW_MS / 1000)
    assert signer.open(issued(signer, NOW_MS - 3_600_000), purpose=PURPOSE)[0].tenant_id == "texas"
    with pytest.raises(EnvelopeError, match="older than max_age"):
        signer.open(issued(signer, NOW_MS - 3_600_001), purpose=PURPOSE)


@pytest.mark.parametrize("max_age", [10, 0.5, timedelta(seconds=10), timedelta(milliseconds=500)])
def test_max_age_boundary_is_exact(monkeypatch: pytest.MonkeyPatch, max_age: Any) -> None:
    """An envelope exactly ``max_age`` old is accepted, one millisecond older refused."""
    signer = EnvelopeSigner(key=KEY, max_age=max_age)
    limit_ms = round(signer.max_age * 1000)
    assert limit_ms in (10_000, 500)
    monkeypatch.setattr(time, "time", lambda: NOW_MS / 1000)
    assert signer.open(issued(signer, NOW_MS - limit_ms), purpose=PURPOSE)[0].tenant_id == "texas"
    with pytest.raises(EnvelopeError, match="older than max_age"):
        signer.open(issued(signer, NOW_MS - limit_ms - 1), purpose=PURPOSE)


def test_a_fractional_max_age_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EnvelopeSigner(key=KEY, max_age=0.5).max_age == 0.5
    assert EnvelopeSigner(key=KEY, max_age=timedelta(milliseconds=1500)).max_age == 1.5
    for bad in (-0.5, float("nan"), timedelta(0)):
        with pytest.raises(ConfigurationError, match="max_age"):
            EnvelopeSigner(key=KEY, max_age=bad)


def test_clock_skew_allowance_is_exactly_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = EnvelopeSigner(key=KEY)
    monkeypatch.setattr(time, "time", lambda: NOW_MS / 1000)
    assert signer.open(issued(signer, NOW_MS + 60_000), purpose=PURPOSE)[0].tenant_id == "texas"
    assert signer.open(issued(signer, NOW_MS), purpose=PURPOSE)[0].tenant_id == "texas"
    with pytest.raises(EnvelopeError, match="future"):
        signer.open(issued(signer, NOW_MS + 60_001), purpose=PURPOSE)


def test_seal_stamps_the_current_time_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW_MS / 1000 + 0.0004)
    opened = EnvelopeSigner(key=KEY).open_envelope(sealed(EnvelopeSigner(key=KEY)), purpose=PURPOSE)
    assert opened.issued_at_ms == NOW_MS


@pytest.mark.parametrize("issued_at", [NOW_MS + 0.0, str(NOW_MS), None, True])
def test_an_issue_time_that_is_not_an_integer_is_refused(
    monkeypatch: pytest.MonkeyPatch, issued_at: object
) -> None:
    signer = EnvelopeSigner(key=KEY)
    monkeypatch.setattr(time, "time", lambda: NOW_MS / 1000)
    envelope = json.loads(sealed(signer))
    envelope["env"]["issuedAt"] = issued_at
    with pytest.raises(EnvelopeError, match="issue time"):
        signer.open(resign(envelope), purpose=PURPOSE)


@pytest.mark.parametrize("env", [5, "env", None, True, 1.5])
def test_an_env_that_is_not_an_object_is_an_envelope_error(env: object) -> None:
    body = json.dumps({"v": 2, "env": env, "sig": "x"})
    with pytest.raises(EnvelopeError, match="env object"):
        EnvelopeSigner(key=KEY).open(body, purpose=PURPOSE)


@pytest.mark.parametrize("sig", [5, None, ["x"], {"s": 1}, "sig\u00e9"])
def test_a_signature_that_is_not_an_ascii_string_is_an_envelope_error(sig: object) -> None:
    """Checked before any MAC: hmac.compare_digest would raise TypeError on these."""
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["sig"] = sig
    with pytest.raises(EnvelopeError, match="signature is not an ASCII string"):
        signer.open(json.dumps(envelope), purpose=PURPOSE)


@pytest.mark.parametrize("roles", ["admin", "", {"admin": True}, 7, [1], ["admin", None]])
def test_attack_signed_roles_that_are_not_a_list_of_strings(roles: object) -> None:
    """A signed ``"roles": "admin"`` must not become the roles {'a', 'd', 'm', 'i', 'n'}."""
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["roles"] = roles
    with pytest.raises(EnvelopeError, match="roles"):
        signer.open(resign(envelope), purpose=PURPOSE)


@pytest.mark.parametrize("tenant", ["", "_control", "a#b", 7, None])
def test_a_signed_invalid_tenant_context_is_an_envelope_error(tenant: object) -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["tenantId"] = tenant
    with pytest.raises(EnvelopeError, match="tenant context is invalid"):
        signer.open(resign(envelope), purpose=PURPOSE)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_seal_refuses_nan_and_infinity(value: float) -> None:
    """They are not JSON: json.dumps would write NaN, which no strict reader accepts."""
    with tenant_scope(ctx("texas")), pytest.raises(EnvelopeError, match="JSON"):
        EnvelopeSigner(key=KEY).seal({"x": value}, purpose=PURPOSE)


def test_the_signature_is_unpadded_base64url_of_the_hmac() -> None:
    """The documented wire format, computed independently of the signer."""
    body = sealed(EnvelopeSigner(key=KEY), {"park": "zion", "note": "caf\u00e9 \U0001f600"})
    envelope = json.loads(body)
    assert "=" not in envelope["sig"]
    assert json.loads(resign(dict(envelope)))["sig"] == envelope["sig"]
    # The body itself is canonical JSON, signature included.
    assert body == json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# --- purposes: one key, many channels ---------------------------------------------------


@pytest.mark.parametrize(
    ("sealed_for", "opened_for"),
    [("events", "sqs"), ("sqs", "events"), ("events", "invoke:reports"), ("invoke:a", "invoke:b")],
)
def test_attack_an_envelope_moved_to_another_channel_is_refused(
    sealed_for: str, opened_for: str
) -> None:
    """The same key signs queue messages, EventBridge details and Invoke payloads: each
    opener takes only what was sealed for it."""
    signer = EnvelopeSigner(key=KEY)
    with tenant_scope(ctx("texas")):
        body = signer.seal({"park": "alamo"}, purpose=sealed_for)
    with pytest.raises(EnvelopeError, match="purpose"):
        signer.open(body, purpose=opened_for)
    assert signer.open(body, purpose=sealed_for)[1] == {"park": "alamo"}


def test_attack_the_purpose_is_signed() -> None:
    signer = EnvelopeSigner(key=KEY)
    envelope = json.loads(sealed(signer))
    envelope["env"]["purpose"] = "invoke:reports"
    with pytest.raises(EnvelopeError, match="signature"):
        signer.open(json.dumps(envelope), purpose="invoke:reports")
    envelope["env"].pop("purpose")
    with pytest.raises(EnvelopeError, match="expected fields"):
        signer.open(resign(envelope), purpose=PURPOSE)


@pytest.mark.parametrize("purpose", ["", None, 7])
def test_a_purpose_is_a_non_empty_string(purpose: Any) -> None:
    signer = EnvelopeSigner(key=KEY)
    with tenant_scope(ctx("texas")), pytest.raises(ConfigurationError, match="purpose"):
        signer.seal(1, purpose=purpose)
    with pytest.raises(ConfigurationError, match="purpose"):
        signer.open(sealed(signer), purpose=purpose)


@pytest.mark.parametrize(
    "function_name",
    [
        "reports",
        "reports:live",
        "reports:7",
        "123456789012:function:reports",
        "123456789012:function:reports:live",
        "arn:aws:lambda:us-east-1:123456789012:function:reports",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:reports:$LATEST",
    ],
)
def test_an_invoke_purpose_names_the_bare_function(function_name: str) -> None:
    """What the invoked function reads as ``context.function_name``, from any form
    Lambda's FunctionName takes."""
    assert invoke_purpose(function_name) == "invoke:reports"


@pytest.mark.parametrize(
    "function_name", ["", ":live", "arn:aws:lambda:us-east-1:1:function:", "a b", "x" * 65, 7]
)
def test_an_invoke_purpose_needs_a_function_name(function_name: Any) -> None:
    with pytest.raises(ConfigurationError, match="function name"):
        invoke_purpose(function_name)
