"""Letterlock server layer (see DESIGN.md); built in a later milestone."""
