"""nbgrader configuration for this course: plain `nbgrader` commands work from the repo root.

solutions/  source notebooks (solutions and hidden tests), kept by the instructor
course/     the student release, generated from solutions/ and committed
grading/    everything a grading run produces (git-ignored): submissions, autograded
            notebooks, feedback and the gradebook database
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "introdl-tuning-dnn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = "sqlite:///grading/gradebook.db"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ExecutePreprocessor.timeout = 120
