"""One way to get a boto3 client: an injected one, or one built from a session and config.

Every client-taking class in tenantkit accepts the same three options, as Powertools'
utilities do: ``client=`` (a ready client, for tests and shared connection pools), or
``boto3_session=`` and ``boto_config=`` (region, credentials, retries, endpoint). The
client is built on first use, never at import or construction time, so constructing a
``TenantTable`` in module scope costs no boto3 import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

__all__ = ["ClientOptions"]


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
        if client is not None and (boto3_session is not None or boto_config is not None):
            raise ConfigurationError(
                f"pass either a {service} client or boto3_session/boto_config, not both"
            )
        self._service = service
        self._client = client
        self._boto3_session = boto3_session
        self._boto_config = boto_config

    @property
    def injected(self) -> bool:
        """True if the caller passed a ready client."""
        return self._client is not None

    def get(self) -> Any:
        """The client, built on first call (boto3's default session unless one was given)."""
        client = self._client
        if client is None:
            factory: Any  # boto3's stubs type ``client`` per literal service name
            if self._boto3_session is not None:
                factory = self._boto3_session.client
            else:
                import boto3

                factory = boto3.client
            client = factory(self._service, config=self._boto_config)
            self._client = client
        return client
