"""Sphinx extension: registry-generated tables for the guides (to be written)."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
