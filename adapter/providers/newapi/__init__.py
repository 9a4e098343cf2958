"""new-api's generic task route: one dialect for every vendor channel behind it."""
