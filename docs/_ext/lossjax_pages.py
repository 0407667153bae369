"""Sphinx extension: one page per registered loss, with its figure (to be written)."""


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
