"""What the processes that share work use to take turns: the insert lease (one writer at a
time across `ingest` processes, `lease.py`) and the back-off between retries
(`retry.py`), shared by ingest and the schedulers of reports, exports and alerts."""
