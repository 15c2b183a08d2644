"""Hostile and broken submissions of assignment 1, graded in one batch (see ``corpus.py``)."""
