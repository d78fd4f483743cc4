"""nbgrader configuration of the course (use it through `python3 make.py nbgrader ...`).

Master notebooks live in solutions/<assignment>/ and the generated student versions in
course/exercises/<assignment>/, so `nbgrader generate_assignment` writes straight into the course.
Submissions, autograded and feedback folders and the gradebook stay in the repository root, which
.gitignore keeps out of version control.
"""
import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "cnnlab"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = os.path.join("course", "exercises")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
# The student notebooks import `cnnlab` and `autograder` from the installed package, so nothing else
# needs copying into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# A notebook that trains a small model may take a while on a laptop CPU.
c.ExecutePreprocessor.timeout = 300

# Grading happens in a sandbox with the verdict outside it (`python3 make.py autograde`, see
# autograder/README.md); nbgrader's own autograde would run submissions unconfined, so it refuses.
if os.environ.get("CNNLAB_ALLOW_KERNEL_GRADING") != "1":
    c.Autograde.autograde_preprocessors = ["autograder.nbgrader_guard.RefuseKernelGrading"]
