"""The MLS cipher suites over pyca/cryptography (RFC 9420 §5, §17.1; RFC 9180 HPKE)."""
