"""The outbox: client webhooks and payer notifications, enqueued with the status change that
caused them and delivered by the dispatcher, retried, logged and replayable."""
