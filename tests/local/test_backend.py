"""The backend: a loopback moto server behind the AWS endpoint, or an existing endpoint."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tenantkit.local.backend import Backend


@pytest.fixture
def backend() -> Iterator[Backend]:
    started = Backend()
    started.start()
    try:
        yield started
    finally:
        started.stop()


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).close()  # noqa: S310
    except urllib.error.URLError:
        return False
    return True


def test_clients_reach_moto_over_http_through_the_endpoint(backend: Backend) -> None:
    assert backend.endpoint_url is not None
    assert backend.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == backend.endpoint_url
    sqs = backend.client("sqs")
    url = sqs.create_queue(QueueName="tk-backend")["QueueUrl"]
    assert url.startswith(backend.endpoint_url)
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"


def test_requests_are_forwarded_as_sent(backend: Backend) -> None:
    """The raw target passes through: a key with escapes and spaces survives."""
    s3 = backend.client("s3")
    s3.create_bucket(Bucket="tk-backend")
    key = "a b/c%2Fd+e?f=g&h"
    s3.put_object(Bucket="tk-backend", Key=key, Body=b"\x00body")
    assert s3.get_object(Bucket="tk-backend", Key=key)["Body"].read() == b"\x00body"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="tk-backend")["Contents"]] == [key]


def test_state_machines_execute(backend: Backend) -> None:
    sfn = backend.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    arn = sfn.create_state_machine(
        name="tk-pass",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="one", input='{"a": 1}')
    deadline = time.monotonic() + 10
    while (status := sfn.describe_execution(executionArn=execution["executionArn"])["status"]) in (
        "RUNNING",
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status == "SUCCEEDED"


def test_without_a_runtime_invoke_finds_no_function(backend: Backend) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        backend.client("lambda").invoke(FunctionName="anything")


def test_stop_closes_both_servers_restores_the_environment_and_forgets_the_data() -> None:
    before = dict(os.environ)
    backend = Backend()
    backend.start()
    front = backend.endpoint_url
    assert front is not None
    backend.client("sqs").create_queue(QueueName="tk-forgotten")
    backend.stop()
    assert dict(os.environ) == before
    assert not answers(front)
    again = Backend()
    again.start()
    try:
        assert again.client("sqs").list_queues().get("QueueUrls", []) == []
    finally:
        again.stop()


@pytest.mark.integration
def test_an_existing_endpoint_takes_motos_place(moto_server: str) -> None:
    backend = Backend(endpoint_url=moto_server)
    backend.start()
    try:
        assert backend.endpoint_url != moto_server
        assert moto_server in backend.description
        backend.client("sqs").create_queue(QueueName="tk-external")
    finally:
        backend.stop()
    import boto3

    direct = boto3.client("sqs", endpoint_url=moto_server, region_name="us-east-1")
    assert any(u.endswith("/tk-external") for u in direct.list_queues()["QueueUrls"])
    assert answers(moto_server)  # not ours to stop


def test_a_backend_that_went_away_is_a_502_not_a_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from tests.conftest import free_port

    backend = Backend(endpoint_url=f"http://127.0.0.1:{free_port()}")  # nothing listens
    backend.start()
    try:
        assert backend.endpoint_url is not None
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{backend.endpoint_url}/", timeout=10)  # noqa: S310
        assert failed.value.code == 502
    finally:
        backend.stop()
    log = capfd.readouterr().err
    assert "did not take moto's config" in log
    assert "the backend failed" in log
    assert "Traceback" not in log
