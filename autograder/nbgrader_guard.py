"""Keeps plain ``nbgrader autograde`` (and formgrader's "autograde" button) from grading.

nbgrader's autograde runs each submission's code with the instructor's rights and lets the test
cells, inside the student's own kernel, decide the score (issue 8). The course's configuration puts
this preprocessor in its place, so that it stops with a message pointing to the sandboxed grading
(``python3 make.py autograde ASSIGNMENT``), which writes into the same gradebook. Set
``CNNLAB_ALLOW_KERNEL_GRADING=1`` to get nbgrader's own behaviour back for a trusted notebook.
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class RefuseKernelGrading(Preprocessor):
    """A preprocessor that refuses to execute a submission."""

    enabled = Bool(True)  # nbconvert skips preprocessors that are not enabled

    def preprocess(self, nb, resources):
        raise RuntimeError(
            "nbgrader autograde is turned off in this course: it would run the submission with your "
            "rights and let its own kernel decide the score. Grade with `python3 make.py autograde "
            "ASSIGNMENT` (sandboxed, same gradebook; see autograder/README.md), or set "
            "CNNLAB_ALLOW_KERNEL_GRADING=1 to use nbgrader's autograde anyway.")
