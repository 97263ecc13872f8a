"""Background work on RQ: queue names, job functions, the relay and the worker's app context.

Jobs carry ids only and are safe to run twice: the database is the source of truth, and a job
first checks whether its work is still to be done.
"""
