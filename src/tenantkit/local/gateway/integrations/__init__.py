"""Integrations: what a routed, authorized request runs. One module per integration type."""
