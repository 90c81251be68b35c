"""The malicious-operator suite: one test per attack a dishonest server could try,
each asserting the specific detection (event or error) that catches it."""
