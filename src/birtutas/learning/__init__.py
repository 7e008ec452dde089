"""Learning: content library, item bank, assignments, quizzes, mastery model and personal paths.

Not built yet; it will use `registry` and `journal` (curriculum objectives) only.
"""
