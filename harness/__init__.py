"""Real processes and servers that the tests and the benchmarks start the same way.

`harness.worker` runs `flask --app service worker` as an operator would, and `harness.smtp` a
local SMTP server (aiosmtpd). Nothing here is a mock: the tests and bench/ talk to these over
real sockets, and to the real PostgreSQL and Redis.
"""
