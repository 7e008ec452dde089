"""Journal: subjects, classes, curriculum objectives, teaching load, timetable, lessons, marks,
attendance, homework, term and year grades, and the diary. Uses `registry` below it."""
