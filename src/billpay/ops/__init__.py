"""Operator views of the system: payment and provider figures, stuck payments, the ledger."""
