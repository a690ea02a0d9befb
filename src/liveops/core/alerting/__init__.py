"""Alerting: rules and receivers as ``liveops.yaml`` declares them (rules), the state machine of
one alert (state), what a receiver is sent (payloads), incidents (incident) and the export of
rules for Prometheus (prometheus)."""
