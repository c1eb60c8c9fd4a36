"""The dashboard page: `GET /`, its assets (shipped in the package) and the sign-in link.

`routes.py` serves the page and exchanges a sign-in ticket; `signin.py` holds the tickets
`chanalytics run` mints at start; `static/` is the page itself (HTML, CSS, ES modules,
no build step, nothing loaded from outside the service).
"""
