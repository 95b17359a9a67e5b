-- The schema of every model, as pitwall's project names it (the row check compares
-- analytics.<model> with pitwall's).
create schema analytics;
