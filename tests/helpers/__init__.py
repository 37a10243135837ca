"""Helpers shared by the tests: the shop fixtures' constants and the servers."""
