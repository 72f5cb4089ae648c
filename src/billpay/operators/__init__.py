"""Operators: configured identities with tokens of their own, their dashboard sessions, and
the throttle on guessing their tokens."""
