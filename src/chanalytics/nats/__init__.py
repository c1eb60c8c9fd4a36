"""The NATS side: the bundled nats-server (`server.py`), the claim that keeps one server
per JetStream store (`store.py`) and `chanalytics publish` (`publish.py`)."""
