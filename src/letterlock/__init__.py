"""Letterlock: an end-to-end encrypted messenger built on MLS (RFC 9420).

Layers, bottom up (see DESIGN.md): ``codec``, ``crypto``, ``mls`` (sans-I/O protocol
code), ``transparency`` and ``franking`` (sans-I/O), then ``server`` and ``client``,
then the ``letterlock`` command and the terminal app.
"""

__version__ = "0.1.0"
