"""The JSON API: typed routes whose pydantic models also produce the OpenAPI document."""
