"""Reviews: reviewers' scorecards on runs, and hiring decisions on candidates."""
