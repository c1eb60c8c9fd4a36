"""The query engine: a request becomes a typed plan (`planner.py`) over the catalogue
(`measures.py`, `metrics.py`, `dimensions.py`, `tables.py`), SQL composed from named parts
(`compiler.py`), executed by `engine.py`; the endpoints are presets (`presets/`).
See `README.md` here."""
