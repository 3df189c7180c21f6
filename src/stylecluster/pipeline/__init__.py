"""Pipeline cores: one pure module per DVC stage (in-memory objects and typed params in, new objects out)."""
