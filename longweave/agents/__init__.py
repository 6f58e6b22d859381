"""The roles (worker, manager, planner, writer...): prompts in, parsed replies out; no graphs."""
