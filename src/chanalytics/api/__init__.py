"""HTTP handlers: health, metrics and the analytics endpoints."""
