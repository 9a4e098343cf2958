"""The Kling dialects (gateway and official): the provider, its request bodies and field
mappings, the answers' shapes and wire structs, refusals, and the official API's JWT."""
