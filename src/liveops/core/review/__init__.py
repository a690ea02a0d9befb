"""Human review: items and their sampling, rubrics, agreement between reviewers."""
