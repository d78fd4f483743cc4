"""Hostile submissions: what a student who wants marks without the work would try (issue 8).

``toy_ops.py`` holds them for the toy assignment of tests/fixtures, one entry per attempt with the
exact scores and flag the grader must give."""
