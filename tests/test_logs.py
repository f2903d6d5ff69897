"""tenantkit.logs: tenant fields on log records, only while a tenant is in scope."""

from __future__ import annotations

import logging

import pytest

from tenantkit import TenantContext, TenantLogFilter, install_tenant_log_filter, tenant_scope


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger() -> logging.Logger:
    log = logging.getLogger("tests.logs.app")
    log.handlers.clear()
    log.filters.clear()
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(Capture())
    return log


def test_filter_adds_fields_in_scope_only(logger: logging.Logger) -> None:
    install_tenant_log_filter(logger)
    capture = logger.handlers[0]
    assert isinstance(capture, Capture)
    with tenant_scope(TenantContext("texas", "alice")):
        logger.info("inside")
    logger.info("outside")
    inside, outside = capture.records
    assert (inside.tenant_id, inside.user_id) == ("texas", "alice")  # type: ignore[attr-defined]
    assert not hasattr(outside, "tenant_id")
    assert not hasattr(outside, "user_id")


def test_install_is_idempotent_and_covers_child_loggers(logger: logging.Logger) -> None:
    first = install_tenant_log_filter(logger)
    assert install_tenant_log_filter(logger) is first
    assert sum(isinstance(f, TenantLogFilter) for f in logger.handlers[0].filters) == 1
    child = logging.getLogger("tests.logs.app.child")
    with tenant_scope(TenantContext("colorado", "bob")):
        child.warning("from child")
    capture = logger.handlers[0]
    assert isinstance(capture, Capture)
    assert capture.records[-1].tenant_id == "colorado"  # type: ignore[attr-defined]
