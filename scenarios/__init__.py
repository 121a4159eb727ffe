"""Bundled scenario files, installed as the package data `funnelsim.bundled`."""
