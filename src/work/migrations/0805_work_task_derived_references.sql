-- Three references of a task are checked by a trigger per row (a lookup and a key-share lock of the
-- row referred to) although no writer can make them dangle; on a day that hands 284k debts to the
-- community managers (the 1M-account dunning benchmark) the three cost about 2 s of the run's 15 s.
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

