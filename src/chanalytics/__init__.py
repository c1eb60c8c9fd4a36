"""chanalytics: messaging analytics — NATS JetStream in, ClickHouse rollups, a dashboard API out."""
