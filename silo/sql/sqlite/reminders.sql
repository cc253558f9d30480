-- X402Orleans: Orleans 10.4.2 ADO.NET reminders on SQLite (invariant "System.Data.SQLite", driver Microsoft.Data.Sqlite),
-- the project's own schema, so the one-process Local mode keeps durable expiry and purge across restarts.
-- Orleans ships no SQLite reminder scripts; this one meets the same contract as reminders.sql for PostgreSQL.
-- Re-runnable: applying it again changes nothing.
--
-- Contract notes:
--  * StartTime is stored as the text the driver binds for a DateTime and is read back with GetDateTime (relabelled UTC).
--  * Delete-one must answer exactly one row: the DELETE returns nothing and the following SELECT changes() answers 1 or 0.

PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS x402_reminders
(
    ServiceId    TEXT    NOT NULL,
    GrainId      TEXT    NOT NULL,
    ReminderName TEXT    NOT NULL,
    StartTime    TEXT    NOT NULL,
    Period       INTEGER NOT NULL,
    GrainHash    INTEGER NOT NULL,
    Version      INTEGER NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS x402_reminders_ring ON x402_reminders (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadReminderRowsKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM x402_reminders
 WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
'),
('ReadReminderRowKey', '
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM x402_reminders
 WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
'),
('ReadRangeRows1Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM x402_reminders
 WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
'),
('ReadRangeRows2Key', '
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM x402_reminders
 WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
'),
('UpsertReminderRowKey', '
INSERT INTO x402_reminders (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
   SET StartTime = excluded.StartTime, Period = excluded.Period, GrainHash = excluded.GrainHash, Version = Version + 1
RETURNING Version;
'),
('DeleteReminderRowKey', '
DELETE FROM x402_reminders
 WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version;
SELECT changes() AS Deleted;
'),
('DeleteReminderRowsKey', '
DELETE FROM x402_reminders WHERE ServiceId = @ServiceId;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText
 WHERE OrleansQuery.QueryText IS NOT excluded.QueryText;
