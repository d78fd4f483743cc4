"""The untrusted side of grading: what runs inside the sandbox.

``runner.py`` (the engine) executes a submission's setup and answer cells and calls the assignment's
adapter, ``<assignment>.py`` in this folder (written with each exercise), for every case the judge
sends; it reports the student's outputs as JSON lines. Nothing here decides a score, and nothing
here is secret: a student may read all of it.
"""
