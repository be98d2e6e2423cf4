-- Every report checks each batch's ledger total (its 'batch' postings less
-- its 'unbatch' ones); this index holds just those, with their amounts, so
-- the check reads a third of the entries and none of the rows.
CREATE INDEX ledger_batch_moves ON ledger_entries(batch_id, movement, amount_fen)
    WHERE movement IN ('batch', 'unbatch');
