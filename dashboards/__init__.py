"""Grafana dashboards, Prometheus rules and provisioning for otelagents (not shipped in the wheel)."""
