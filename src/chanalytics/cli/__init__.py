"""The `chanalytics` command (`main.py`), what `run` prints (`banner.py`) and the demo's
traffic (`demo.py` makes the stories, `demofeed.py` publishes them once per data dir)."""
