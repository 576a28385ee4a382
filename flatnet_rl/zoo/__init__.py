"""Shipped classifiers (package data) and the manifest recording how each was made."""
