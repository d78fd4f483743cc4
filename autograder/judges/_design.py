"""The judge's access to the spec networks of the open-ended parts (``autograder.checks._specnet``):
the judge process imports the instructor's installed copy, never anything from a submission."""
from autograder.checks._specnet import SpecError, build, evaluate  # noqa: F401
