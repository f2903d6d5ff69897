"""The AWS emulation behind ``tenantkit local``: a loopback moto server, fronted.

By default a moto ``ThreadedMotoServer`` runs on a free loopback port, with Step
Functions execution turned on (``POST /moto-api/config``). With ``endpoint_url`` an
existing AWS-compatible endpoint (a moto server, for instance) takes its place.
Either way an :class:`~tenantkit.local.aws_endpoint.AwsEndpoint` on another free
loopback port answers Lambda's ``Invoke`` from the runtime (once :meth:`Backend.serve_lambda`
attaches it) and forwards every other call there. ``AWS_ENDPOINT_URL`` names that front
endpoint while the backend runs, so every client (the gateway's, the pollers', and the
handlers' in their own worker processes, which inherit it) reaches one account over HTTP.

The backend never reaches real AWS by accident: it removes any ``AWS_ENDPOINT_URL_*``
and profile settings, supplies fake credentials when none are set, and puts back the
previous environment when it stops.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tenantkit.local.aws_endpoint import AwsEndpoint, LambdaService
from tenantkit.local.template import Attributes, Resource, TemplateError

__all__ = ["Backend"]

DEFAULT_REGION = "us-east-1"
LOOPBACK = "127.0.0.1"


def _tags(value: Any) -> list[dict[str, str]]:
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in value or []]


def _flag(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _moto_api(url: str, action: str, body: Any) -> None:
    """``POST /moto-api/<action>`` on an http:// endpoint; OSError if it fails."""
    split = urllib.parse.urlsplit(url)
    if split.scheme != "http" or not split.hostname:
        raise OSError(f"not an http:// endpoint: {url!r}")
    connection = http.client.HTTPConnection(split.hostname, split.port or 80, timeout=10)
    try:
        connection.request(
            "POST",
            f"/moto-api/{action}",
            body=json.dumps(body).encode() if body is not None else b"",
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
    except http.client.HTTPException as error:
        raise OSError(str(error)) from None
    finally:
        connection.close()
    if response.status >= 300:
        raise OSError(f"{url}/moto-api/{action} answered {response.status}")


def _configure_moto(url: str, *, required: bool) -> None:
    """Turn on moto's Step Functions interpreter; an external endpoint may not be moto."""
    try:
        _moto_api(url, "config", {"stepfunctions": {"execute_state_machine": True}})
    except OSError as error:
        if required:
            raise
        print(
            f"tenantkit local: note: {url} did not take moto's config ({error}); "
            "state machines may not execute",
            file=sys.stderr,
        )


class Backend:
    """Creates the template's tables, queues, topics and secrets, and hands out clients."""

    def __init__(self, *, endpoint_url: str | None = None) -> None:
        self.upstream_url = endpoint_url
        self.endpoint_url: str | None = None  # the front endpoint, once started
        self.region = os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION", DEFAULT_REGION
        )
        self._moto: Any = None
        self._moto_config: dict[str, Any] = {}
        self._front: AwsEndpoint | None = None
        self._saved: dict[str, str] | None = None
        self._account_id: str | None = None

    @property
    def description(self) -> str:
        where = self.upstream_url or "moto server"
        return f"{where} behind {self.endpoint_url}" if self.endpoint_url else where

    def start(self) -> None:
        self._saved = dict(os.environ)
        for key in list(os.environ):
            if key.startswith("AWS_ENDPOINT_URL") or key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
                del os.environ[key]
        os.environ["AWS_REGION"] = self.region
        os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            os.environ["AWS_ACCESS_KEY_ID"] = "local"
            os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - not a secret
            os.environ.pop("AWS_SESSION_TOKEN", None)
        try:
            upstream = self.upstream_url
            if upstream is None:
                from moto.core.config import default_user_config
                from moto.server import ThreadedMotoServer

                self._moto_config = dict(default_user_config.get("stepfunctions") or {})
                self._moto = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
                self._moto.start()
                host, port = self._moto.get_host_and_port()
                upstream = f"http://{host}:{port}"
            _configure_moto(upstream, required=self.upstream_url is None)
            self._front = AwsEndpoint(upstream)
            self.endpoint_url = self._front.start(LOOPBACK)
        except BaseException:
            self.stop()
            raise
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url

    def serve_lambda(self, service: LambdaService) -> None:
        """Answer Lambda's ``Invoke`` on the front endpoint from ``service``."""
        if self._front is None:
            raise RuntimeError("start the backend first")
        self._front.lambda_service = service

    def stop(self) -> None:
        """Stop the endpoint and the moto server this backend started; restore the
        environment. Idempotent."""
        if self._front is not None:
            self._front.stop()
            self._front = None
        if self._moto is not None:
            # Its accounts and config live in moto's process-wide state: leave them as
            # they were, as mock_aws does when it stops.
            host, port = self._moto.get_host_and_port()
            _moto_api(f"http://{host}:{port}", "reset", None)
            _moto_api(f"http://{host}:{port}", "config", {"stepfunctions": self._moto_config})
            self._moto.stop()
            server = getattr(self._moto, "_server", None)  # stop() leaves its socket open
            if server is not None:
                server.server_close()
            self._moto = None
        if self._saved is not None:
            for key in set(os.environ) - set(self._saved):
                del os.environ[key]
            os.environ.update(self._saved)
            self._saved = None

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service, region_name=self.region, endpoint_url=self.endpoint_url
        )

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            identity = self.client("sts").get_caller_identity()
            self._account_id = str(identity["Account"])
        return self._account_id

    # ------------------------------------------------------------------ resources

    def create(self, resource: Resource, props: Mapping[str, Any], name: str) -> Attributes:
        """Create one resource from its resolved properties; ``name`` if it sets none."""
        from botocore.exceptions import BotoCoreError, ClientError

        creators = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::SecretsManager::Secret": self._secret,
        }
        try:
            return creators[resource.type](props, name)
        except (ClientError, BotoCoreError) as error:
            raise TemplateError(
                f"{resource.where}: the backend refused to create it: {error}"
            ) from None

    def _table(self, props: Mapping[str, Any], name: str) -> Attributes:
        from botocore.exceptions import ClientError

        client = self.client("dynamodb")
        args: dict[str, Any] = {
            key: props[key]
            for key in (
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
            )
            if key in props
        }
        for index in args.get("GlobalSecondaryIndexes", []):
            index.pop("ContributorInsightsSpecification", None)
        table_name = str(props.get("TableName", name))
        if props.get("Tags"):
            args["Tags"] = _tags(props["Tags"])
        try:
            description = client.create_table(TableName=table_name, **args)["TableDescription"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
            description = client.describe_table(TableName=table_name)["Table"]
        return Attributes(table_name, {"Arn": description["TableArn"]})

    def _queue(self, props: Mapping[str, Any], name: str) -> Attributes:
        client = self.client("sqs")
        queue_name = str(props.get("QueueName", name))
        if props.get("FifoQueue") in (True, "true") and not queue_name.endswith(".fifo"):
            queue_name += ".fifo"
        attributes: dict[str, str] = {}
        for key, value in props.items():
            if key in ("QueueName", "Tags"):
                continue
            attributes[key] = json.dumps(value) if isinstance(value, dict) else _flag(value)
        tags = {t["Key"]: t["Value"] for t in _tags(props.get("Tags"))}
        args: dict[str, Any] = {"QueueName": queue_name, "Attributes": attributes}
        if tags:
            args["tags"] = tags
        url = client.create_queue(**args)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return Attributes(
            url,
            {"Arn": arn["Attributes"]["QueueArn"], "QueueName": queue_name, "QueueUrl": url},
        )

    def _topic(self, props: Mapping[str, Any], name: str) -> Attributes:
        client = self.client("sns")
        topic_name = str(props.get("TopicName", name))
        attributes = {
            key: _flag(props[key])
            for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication")
            if key in props
        }
        args: dict[str, Any] = {"Name": topic_name, "Attributes": attributes}
        if props.get("Tags"):
            args["Tags"] = _tags(props["Tags"])
        arn = client.create_topic(**args)["TopicArn"]
        return Attributes(arn, {"TopicArn": arn, "TopicName": topic_name})

    def _secret(self, props: Mapping[str, Any], name: str) -> Attributes:
        from botocore.exceptions import ClientError

        client = self.client("secretsmanager")
        secret_name = str(props.get("Name", name))
        args: dict[str, Any] = {"Name": secret_name}
        if "Description" in props:
            args["Description"] = str(props["Description"])
        if props.get("Tags"):
            args["Tags"] = _tags(props["Tags"])
        if "SecretString" in props:
            args["SecretString"] = str(props["SecretString"])
        elif "GenerateSecretString" in props:
            args["SecretString"] = self._generated(client, props["GenerateSecretString"])
        try:
            arn = client.create_secret(**args)["ARN"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = client.describe_secret(SecretId=secret_name)["ARN"]
        return Attributes(arn, {"Id": arn})

    @staticmethod
    def _generated(client: Any, spec: Mapping[str, Any]) -> str:
        options = {
            key: spec[key]
            for key in (
                "PasswordLength",
                "ExcludeCharacters",
                "ExcludeNumbers",
                "ExcludePunctuation",
                "ExcludeUppercase",
                "ExcludeLowercase",
                "IncludeSpace",
                "RequireEachIncludedType",
            )
            if key in spec
        }
        if "PasswordLength" in options:
            options["PasswordLength"] = int(options["PasswordLength"])
        for key, value in options.items():
            if key not in ("PasswordLength", "ExcludeCharacters"):
                options[key] = value in (True, "true")
        password = str(client.get_random_password(**options)["RandomPassword"])
        if "SecretStringTemplate" not in spec:
            return password
        document = json.loads(str(spec["SecretStringTemplate"]))
        document[str(spec["GenerateStringKey"])] = password
        return json.dumps(document)

    # ------------------------------------------------------------------ seeding

    def put_items(self, table_name: str, items: list[Any]) -> None:
        """Put plain JSON items (numbers as :class:`~decimal.Decimal`) into a table."""
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        client = self.client("dynamodb")
        for item in items:
            if not isinstance(item, dict):
                raise TemplateError(f"seed items for {table_name} must be JSON objects")
            client.put_item(
                TableName=table_name,
                Item={k: serializer.serialize(_decimals(v)) for k, v in item.items()},
            )


def _decimals(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    return value
