"""The course's autograder: nbgrader configuration and the checks that exercise test cells call.

Each ``checks/<assignment>.py`` compares a student's function with the ``cnnlab`` reference on fixed
cases (visible tests) and on fresh random cases (hidden tests), and fails with a message that says
which input went wrong and how.
"""
