DROP STATISTICS IF EXISTS needs_handler_scope_deps;
