"""Helpers shared by the snippets: data loading, the shared CNN, output paths.

Kept deliberately small: anything a reader must see to understand an example
lives in the example itself; only plumbing that would distract lives here.
"""
