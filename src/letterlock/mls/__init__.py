"""RFC 9420 (Messaging Layer Security), sans-I/O.

Modules follow the RFC's sections. Nothing here opens a socket or a file, reads a clock,
or keeps global state: bytes and explicit time in, bytes and events out.
"""
