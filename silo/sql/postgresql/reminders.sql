-- X402Orleans: Orleans 10.4.2 ADO.NET reminders on PostgreSQL (invariant "Npgsql"), the project's own schema.
-- Re-runnable: applying it again changes nothing.
--
-- Contract notes:
--  * One row per (service, grain, reminder name). An upsert overwrites start, period and hash (last writer wins) and
--    returns the new version; delete-one compares the version and answers one boolean row.
--  * GrainHash is the provider's signed 32-bit ring hash: ranges compare it signed. Period is milliseconds (bigint).

BEGIN;
SELECT pg_advisory_xact_lock(402402402);

CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  varchar(64) NOT NULL PRIMARY KEY,
    querytext text        NOT NULL
);

CREATE TABLE IF NOT EXISTS x402_reminders
(
    serviceid    varchar(150)  NOT NULL,
    grainid      varchar(1024) NOT NULL,
    remindername varchar(150)  NOT NULL,
    starttime    timestamptz   NOT NULL,
    period       bigint        NOT NULL,
    grainhash    integer       NOT NULL,
    version      integer       NOT NULL,
    PRIMARY KEY (serviceid, grainid, remindername)
);

CREATE INDEX IF NOT EXISTS x402_reminders_ring ON x402_reminders (serviceid, grainhash);

INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadReminderRowsKey', $q$
SELECT grainid, remindername, starttime, period, version
  FROM x402_reminders
 WHERE serviceid = @ServiceId AND grainid = @GrainId
$q$),
('ReadReminderRowKey', $q$
SELECT grainid, remindername, starttime, period, version
  FROM x402_reminders
 WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName
$q$),
('ReadRangeRows1Key', $q$
SELECT grainid, remindername, starttime, period, version
  FROM x402_reminders
 WHERE serviceid = @ServiceId AND grainhash > @BeginHash AND grainhash <= @EndHash
$q$),
('ReadRangeRows2Key', $q$
SELECT grainid, remindername, starttime, period, version
  FROM x402_reminders
 WHERE serviceid = @ServiceId AND (grainhash > @BeginHash OR grainhash <= @EndHash)
$q$),
('UpsertReminderRowKey', $q$
INSERT INTO x402_reminders (serviceid, grainid, remindername, starttime, period, grainhash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (serviceid, grainid, remindername) DO UPDATE
   SET starttime = excluded.starttime, period = excluded.period, grainhash = excluded.grainhash,
       version = x402_reminders.version + 1
RETURNING version
$q$),
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM x402_reminders
     WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName AND version = @Version
    RETURNING 1)
SELECT count(*) > 0 AS deleted FROM deleted
$q$),
('DeleteReminderRowsKey', $q$
DELETE FROM x402_reminders WHERE serviceid = @ServiceId
$q$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext
 WHERE orleansquery.querytext IS DISTINCT FROM excluded.querytext;

COMMIT;
