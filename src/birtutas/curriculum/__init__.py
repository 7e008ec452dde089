"""Curriculum: subjects, the national curriculum's learning objectives (codes such as 7.1.2.3, with
Kazakh and Russian text) and the versioned grading policies. Uses `registry` below it; `journal`
and `learning` build on it."""
