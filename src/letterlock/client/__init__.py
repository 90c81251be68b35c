"""Letterlock client layer (see DESIGN.md); built in a later milestone."""
