"""Ingest: JetStream pull consumer → unified rows → ClickHouse, exactly once."""
