"""The ClickHouse side: the one client (`storage.py`, embedded chDB or a server), the
cluster layout of the schema (`cluster.py`) and `chanalytics clickhouse-server`
(`server.py`)."""
