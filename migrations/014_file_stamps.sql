-- A local inbound file's stamp (device, inode, size, mtime and ctime, which
-- the kernel changes on every write): a file whose stamp is the one recorded
-- when it was taken has not changed since, and collect need not read and
-- hash it again (pipeline.Stamper). Empty for files taken before, and for
-- locations that give no stamp (SFTP).
ALTER TABLE files ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
CREATE INDEX files_stamp ON files(location, name, stamp) WHERE stamp != '';
