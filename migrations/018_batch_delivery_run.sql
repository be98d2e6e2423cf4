-- The run that began delivering a batch. It is set in a transaction of its
-- own just before the batch's payment file is put at the bank, and the batch
-- is recorded as SENT only after the file is in place. In between (a run
-- killed or an upload that failed) the file may be at the bank already, so a
-- batch with a delivery run can no longer be rejected: rejecting it would
-- make its payments ELIGIBLE again and pay them a second time in a new
-- batch. The run is finished instead (zhutui rerun, or the next run), which
-- finds the same bytes in place and records the batch as SENT.
ALTER TABLE batches ADD COLUMN delivery_run INTEGER REFERENCES runs(id);
