-- The run that began delivering an SMS file. It is set in a transaction of
-- its own after the file is staged in the platform's folder (under its
-- temporary name, checked) and before it is committed into place. The
-- platform takes the files it finds and may move them away, so an attempt cut
-- off between the commit and the record of the delivery must not put the
-- file again: the next attempt commits the staged copy if it is still there,
-- and finds the file taken when neither it nor the staged copy is.
ALTER TABLE sms_files ADD COLUMN delivery_run INTEGER REFERENCES runs(id);
