"""Storage backends. There is one: Redis (a real server, or fakeredis in-process)."""
