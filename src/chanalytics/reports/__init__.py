"""Saved and scheduled reports (docs/scheduled-reports.md): the definition as sent
(`definition.py`), when it runs (`schedule.py`), where definitions, runs and files are
kept (`store.py`), one run from query to deliveries (`runner.py`), and the scheduler that
claims each tick once (`scheduler.py`), started in an API process by `service.py`."""
