"""Background work on RQ: queue names, job functions and the worker's app context."""
