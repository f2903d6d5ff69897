"""Python runs this at start-up when its folder is on PYTHONPATH (tests/conftest.py puts
it there), so the subprocesses that tests start reach loopback only, like the tests."""

import loopback_guard

loopback_guard.install()
