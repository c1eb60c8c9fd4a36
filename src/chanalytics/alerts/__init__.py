"""Alerts: rules a tenant sets on any metric, the built-in detectors (budget, delivery-rate
anomaly, ingest health), each alert's lifecycle, and its deliveries (`docs/alerts.md`)."""
