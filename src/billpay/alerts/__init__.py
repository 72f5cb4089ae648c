"""Alerts to operators: provider trouble, stuck and needs-review payments, webhook backlog and
low provider floats, each raised once per incident and resolved when it clears (issue #13)."""
