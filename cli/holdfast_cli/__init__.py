"""Holdfast developer command-line tools (local engine, dev server, helpers)."""
