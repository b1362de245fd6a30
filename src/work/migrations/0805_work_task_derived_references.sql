-- Three references of a task are checked by a trigger per row (a lookup and a key-share lock of the
-- row referred to) although no writer can make them dangle. On the day the 1M-account dunning
-- benchmark hands 284k debts to the community managers, the three triggers took 1.8-2.4 s of each of
-- the run's two connections (EXPLAIN ANALYZE trigger times, 142k tasks each).
-- - task.kind: written only by openTasksFrom, from its join with task_kind; never updated; kinds are
--   rows of the migrations and never deleted.
-- - task.grid_id: written only by openTasksFrom, from the transformer area's grid (itself a checked
--   reference to org_unit); never updated; org units are never deleted.
-- - task_event.task_id: every entry is written from the rows a statement has just inserted or
--   updated in task (RETURNING), and tasks are never deleted (the same reasoning as for
--   dunning_attempt's notice in 0703).
-- The team and assignee keep their checks: the assignee changes when a task is accepted or handed to
-- a substitute.
ALTER TABLE task DROP CONSTRAINT IF EXISTS task_kind_fkey;
ALTER TABLE task DROP CONSTRAINT IF EXISTS task_grid_fkey;
ALTER TABLE task_event DROP CONSTRAINT IF EXISTS task_event_task_fkey;
