"""Benchmarks: ``python -m letterlock.bench {mls,...}``.

Speed is measured here and never asserted in tests: these machines are shared and
noisy, so every figure is a median over repeated runs, and the MLS table also prints
the cryptographic floor (the primitives timed alone) so each row reads as a ratio.
"""
