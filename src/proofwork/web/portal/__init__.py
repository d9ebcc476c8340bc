"""The candidate's side: an invitation's link opens the portal, its git remote, its feedback."""
