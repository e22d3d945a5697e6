"""Pure domain rules: no AWS imports, testable without a table."""
