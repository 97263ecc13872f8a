"""gunicorn's settings for the web app, read when gunicorn starts in the repository's root:
`gunicorn "service:create_app()"` (see README.md, "Running in production")."""

# The access log, on standard output, with the tokens of activation and reset links redacted.
accesslog = "-"
logger_class = "service.log_redaction.GunicornLogger"
