-- A task's team and assignee are checked once per statement, not once per row. The foreign keys ran a
-- trigger per task (a lookup and a key-share lock on the staff or team row), so a day that hands 284k
-- debts to the community managers locked the same few hundred manager rows 284k times from both of the
-- dunning run's connections: 1.5 s of each connection's 5.5 s task insert (EXPLAIN ANALYZE trigger
-- times on the 1M-account benchmark's day 5). Now a statement trigger checks the rows a statement
-- inserted or updated against staff and team in one hashed pass, and a statement that deletes staff or
-- teams, or changes their ids, fails while a task still names them — what the foreign keys enforced,
-- with the same error (foreign_key_violation, named after the constraint it replaces).
--
-- The deleting side takes a SHARE lock on task first: it waits for the transactions writing tasks to
-- finish and keeps new ones out until it commits, so a task cannot be written against a staff row
-- being deleted (the key-share row lock did that before). Staff and teams are deactivated, not deleted,
-- so this lock is never taken in the daily work.
ALTER TABLE task DROP CONSTRAINT task_team_fkey;
ALTER TABLE task DROP CONSTRAINT task_assignee_fkey;

CREATE FUNCTION work_task_references_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT t.id, t.team_id, t.assignee_staff_id,
         t.team_id IS NOT NULL AND t.team_id NOT IN (SELECT id FROM team) AS no_team
  INTO bad
  FROM task_written t
  WHERE (t.team_id IS NOT NULL AND t.team_id NOT IN (SELECT id FROM team))
     OR (t.assignee_staff_id IS NOT NULL AND t.assignee_staff_id NOT IN (SELECT id FROM staff))
  LIMIT 1;
  IF FOUND THEN
    IF bad.no_team THEN
      RAISE EXCEPTION 'task % refers to team %, which does not exist', bad.id, bad.team_id
        USING ERRCODE = 'foreign_key_violation', TABLE = 'task', CONSTRAINT = 'task_team_fkey';
    END IF;
    RAISE EXCEPTION 'task % refers to staff %, who does not exist', bad.id, bad.assignee_staff_id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'task', CONSTRAINT = 'task_assignee_fkey';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER task_references_inserted AFTER INSERT ON task
  REFERENCING NEW TABLE AS task_written FOR EACH STATEMENT EXECUTE FUNCTION work_task_references_check();
CREATE TRIGGER task_references_updated AFTER UPDATE ON task
  REFERENCING NEW TABLE AS task_written FOR EACH STATEMENT EXECUTE FUNCTION work_task_references_check();

-- staff or team ids a statement removed (deleted, or changed on update) that a task still names
CREATE FUNCTION work_task_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone integer[];
  named integer;
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT array_agg(id) INTO gone FROM removed;
  ELSE
    SELECT array_agg(id) INTO gone FROM (SELECT id FROM removed EXCEPT SELECT id FROM kept) x;
  END IF;
  IF gone IS NULL THEN
    RETURN NULL;
  END IF;
  LOCK TABLE task IN SHARE MODE;
  IF TG_TABLE_NAME = 'staff' THEN
    SELECT assignee_staff_id INTO named FROM task WHERE assignee_staff_id = ANY (gone) LIMIT 1;
  ELSE
    SELECT team_id INTO named FROM task WHERE team_id = ANY (gone) LIMIT 1;
  END IF;
  IF named IS NOT NULL THEN
    RAISE EXCEPTION '% % is still named by a task', TG_TABLE_NAME, named
      USING ERRCODE = 'foreign_key_violation', TABLE = 'task',
            CONSTRAINT = CASE TG_TABLE_NAME WHEN 'staff' THEN 'task_assignee_fkey' ELSE 'task_team_fkey' END;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER staff_task_references_deleted AFTER DELETE ON staff
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION work_task_referenced_check();
CREATE TRIGGER staff_task_references_updated AFTER UPDATE ON staff
  REFERENCING OLD TABLE AS removed NEW TABLE AS kept FOR EACH STATEMENT EXECUTE FUNCTION work_task_referenced_check();
CREATE TRIGGER team_task_references_deleted AFTER DELETE ON team
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION work_task_referenced_check();
CREATE TRIGGER team_task_references_updated AFTER UPDATE ON team
  REFERENCING OLD TABLE AS removed NEW TABLE AS kept FOR EACH STATEMENT EXECUTE FUNCTION work_task_referenced_check();

-- The team queue index holds the tasks of teams only: a community manager's task (no team) was an entry
-- in it for nothing. Queries by team (team_id = x) imply team_id IS NOT NULL and still use it.
DROP INDEX task_open_team_idx;
CREATE INDEX task_open_team_idx ON task (team_id, due_at) WHERE closed_at IS NULL AND team_id IS NOT NULL;
