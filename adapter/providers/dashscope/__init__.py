"""Alibaba DashScope's asynchronous video API: the provider and its field mappings, wire
structs and refusals."""
