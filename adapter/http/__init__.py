"""The HTTP surface: routes, thin endpoints, error mapping, middleware."""
