"""``python -m tenantkit``: the ``tenantkit`` command, where its script is not on PATH."""

from tenantkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
