"""ClientOptions: an injected client, or one built lazily from a session and config."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tenantkit._shared.clients import ClientOptions, build_client, refuse_client_and_session
from tenantkit.errors import ConfigurationError


def test_an_injected_client_is_returned_as_is() -> None:
    client = object()
    options = ClientOptions("dynamodb", client=client)
    assert options.get() is client


def test_a_client_and_a_session_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        ClientOptions("dynamodb", client=object(), boto3_session=boto3.session.Session())
    with pytest.raises(ConfigurationError, match="not both"):
        ClientOptions("dynamodb", client=object(), boto_config=Config())


def test_the_session_and_config_build_the_client_once() -> None:
    session = boto3.session.Session(region_name="eu-west-3")
    options = ClientOptions("dynamodb", boto3_session=session, boto_config=Config(read_timeout=7))
    client = options.get()
    assert client.meta.region_name == "eu-west-3"
    assert client.meta.config.read_timeout == 7
    assert options.get() is client


def test_without_a_session_the_default_session_and_config_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    client = ClientOptions("sqs", boto_config=Config(connect_timeout=3)).get()
    assert client.meta.region_name == "ap-south-1"
    assert client.meta.config.connect_timeout == 3


def test_build_client_passes_the_session_config_and_extra_arguments() -> None:
    session = boto3.session.Session(region_name="eu-west-3")
    client = build_client(
        "sts", boto3_session=session, boto_config=Config(read_timeout=5), region_name="us-west-2"
    )
    assert client.meta.region_name == "us-west-2"
    assert client.meta.config.read_timeout == 5


def test_the_one_rule_refuses_any_injected_client_with_a_session_or_config() -> None:
    refuse_client_and_session("a client", False, boto3.session.Session(), Config())
    refuse_client_and_session("a client", True, None, None)
    for session, config in ((boto3.session.Session(), None), (None, Config())):
        with pytest.raises(ConfigurationError, match=r"pass either a client or .*not both"):
            refuse_client_and_session("a client", True, session, config)
