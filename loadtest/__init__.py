"""Load test (`make loadtest`): simulated leaders walking the dashboard against gunicorn on PostgreSQL.

Loopback only: the runner starts its own server on 127.0.0.1 and points Locust at it; nothing else is a target.
"""
