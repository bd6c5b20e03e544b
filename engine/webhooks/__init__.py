"""Outbound webhooks: event subscriptions through an outbox, signed with Standard Webhooks.

events.py      what is published (WebhookEvent), subscription matching, bodies (pure)
signing.py     `whsec_` secrets and `webhook-signature` headers (pure)
guard.py       refuses connections to internal addresses (SSRF), at connect time
sender.py      one signed HTTP attempt -> Attempt (status, excerpt, duration)
retry.py       backoff with jitter and what an attempt leads to (pure)
targets.py     an endpoint's URL and signing keys (content: env variable; API: table)
repository.py  every SQL statement: endpoints, outbox messages, attempts
service.py     publish (in the caller's transaction), endpoint admin, replay
tasks.py       send_due_webhooks: claims due messages and sends them after commit
steps.py       flow `webhook` steps: signed messages for the channel dispatcher
endpoints.py   the admin API under /v1/webhooks
"""
