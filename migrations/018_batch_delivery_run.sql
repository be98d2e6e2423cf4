-- The run that began delivering a batch. It is set in a transaction of its
-- own after the batch's payment file is in place and before its sidecar is
-- put: the bank takes a payment file only once its sidecar is there (§4.1),
-- and the batch is recorded as SENT only after both are. In between (a run
-- killed, or an upload that failed) the bank may have the file, so a batch
-- with a delivery run can no longer be rejected: rejecting it would make its
-- payments ELIGIBLE again and pay them a second time in a new batch. The run
-- is finished instead (zhutui rerun, or the next run), which finds the same
-- bytes in place and records the batch as SENT.
ALTER TABLE batches ADD COLUMN delivery_run INTEGER REFERENCES runs(id);
