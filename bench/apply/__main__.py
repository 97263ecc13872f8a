"""`python -m bench.apply`: the whole benchmark, then the diagnostics its options ask for."""

from bench.apply.report import main

main()
