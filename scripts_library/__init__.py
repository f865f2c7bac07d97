"""scripts_library."""
