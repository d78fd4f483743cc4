# nbgrader reads this file when run from the repository root; the course's settings live in
# autograder/nbgrader_config.py.
c = get_config()  # noqa: F821
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821
