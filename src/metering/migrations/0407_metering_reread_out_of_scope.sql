-- A re-read case whose meter left collection before anyone read it (the account closed, the meter came off
-- without a closing reading) is closed as out of scope, and its team task cancelled: nobody is sent to read it.
ALTER TABLE reread_case DROP CONSTRAINT reread_case_closed_by_check;
ALTER TABLE reread_case ADD CONSTRAINT reread_case_closed_by_check CHECK (closed_by IN ('manual_reading', 'automatic_reading', 'out_of_scope'));
