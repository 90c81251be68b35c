"""The Letterlock client-server protocol definitions that both sides share (sans-I/O).

Below ``client`` and ``server`` and above ``mls``: what a device signs for the delivery
server, byte for byte, so that the client and the server cannot drift apart.
"""
