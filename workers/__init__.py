"""The worker process: the `flask --app service worker` command, its app, and the sweep's schedule.

Job bodies live beside their domains (`service/*/tasks.py`) and the hand-off to RQ lives in
`service/jobs.py`; this package only runs them. Nothing under `service/` imports it: Flask finds
the `worker` command through the `flask.commands` entry point in pyproject.toml.
"""
