-- A handler's queue (GET /needs?handler_organization_id=…) is filtered by the caller's scope as
-- well (town_id for town staff, city_id for the association). A handling organisation sits in
-- one town and one city, so those filters remove nothing; without knowing that, the planner
-- multiplies the selectivities, expects one row, and at province scale reads the whole queue
-- through a BitmapAnd and sorts it for the first page. With the dependency it walks
-- needs_handler_idx (handler_organization_id, id) in order and stops after the page
-- (docs/performance.md, "Hot paths: API vs pgbench").
CREATE STATISTICS IF NOT EXISTS needs_handler_scope_deps (dependencies) ON handler_organization_id, town_id, city_id FROM needs;
ANALYZE needs;
