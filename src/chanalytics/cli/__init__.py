"""The `chanalytics` command: `main.py` reads the arguments and settings and dispatches,
`runners.py` runs `run`, `serve` and `ingest`, `banner.py` is what `run` prints, and the
demo's traffic (`demo.py` makes the stories, `demofeed.py` publishes them once per data
dir)."""
