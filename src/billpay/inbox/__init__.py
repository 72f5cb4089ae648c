"""Inbound provider webhooks: authenticated, stored once in the inbox, acted on by a job.

A webhook is a hint (providers.md §6.6): the job asks the provider (requery, verify) before
any payment changes state.
"""
