"""Who is told what about each ticket event, and the emails that carry it."""
