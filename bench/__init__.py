"""Holdfast's benchmark (``make bench``): ratios measured side by side, call counts, capacity.

See bench/README.md for what each figure means and how it is measured.
"""
