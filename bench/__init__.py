"""Benchmarks (`make bench`, ...). Not part of the installed distribution: they start real
servers and measure them, from a checkout."""
