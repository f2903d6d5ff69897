"""One way to get a boto3 client: an injected one, or one built from a session and config.

Every client-taking class in tenantkit accepts the same three options, as Powertools'
utilities do: ``client=`` (a ready client, for tests and shared connection pools), or
``boto3_session=`` and ``boto_config=`` (region, credentials, retries, endpoint), never
both. The client is built on first use, never at import or construction time, so
constructing a ``TenantTable`` in module scope costs no boto3 import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

__all__ = ["ClientOptions", "build_client", "refuse_client_and_session"]


def refuse_client_and_session(
    injected_name: str,
    injected: bool,
    boto3_session: boto3.session.Session | None,
    boto_config: Config | None,
) -> None:
    """The one rule: a caller who injects a client builds it, so a session or config
    given too would be silently ignored for it; refuse the mix instead."""
    if injected and (boto3_session is not None or boto_config is not None):
        raise ConfigurationError(
            f"pass either {injected_name} or boto3_session/boto_config, not both"
        )


def build_client(
    service: str,
    *,
    boto3_session: boto3.session.Session | None,
    boto_config: Config | None,
    **kwargs: Any,
) -> Any:
    """A new ``service`` client from ``boto3_session`` (boto3's default session if none)
    and ``boto_config``; ``kwargs`` (credentials, region) go to ``client()``."""
    factory: Any  # boto3's stubs type ``client`` per literal service name
    if boto3_session is not None:
        factory = boto3_session.client
    else:
        import boto3

        factory = boto3.client
    return factory(service, config=boto_config, **kwargs)


class ClientOptions:
    """How to obtain the client of one AWS service; ``get()`` builds it once, lazily."""

    __slots__ = ("_boto3_session", "_boto_config", "_client", "_service")

    def __init__(
        self,
        service: str,
        *,
        client: Any = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
    ) -> None:
        refuse_client_and_session(
            f"a {service} client", client is not None, boto3_session, boto_config
        )
        self._service = service
        self._client = client
        self._boto3_session = boto3_session
        self._boto_config = boto_config

    def get(self) -> Any:
        """The client, built on first call (boto3's default session unless one was given)."""
        client = self._client
        if client is None:
            client = build_client(
                self._service, boto3_session=self._boto3_session, boto_config=self._boto_config
            )
            self._client = client
        return client
