-- X402Orleans: Orleans 10.4.2 ADO.NET grain persistence on PostgreSQL (invariant "Npgsql"), the project's own schema.
-- Re-runnable: applying it again changes nothing. Needs PostgreSQL 15 or later (NULLS NOT DISTINCT).
--
-- Contract notes:
--  * One row per grain state identity; a unique index (NULL extension equal to NULL) makes two concurrent first writes
--    end in one row and one reported conflict, never two rows.
--  * Version is the ETag: a write returns the new version, or no row on a conflict. Every write is one statement.
--  * The payload is the silo's IGrainStorageSerializer output (X402Orleans: versioned JSON, UTF-8).

BEGIN;
SELECT pg_advisory_xact_lock(402402402);

CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  varchar(64) NOT NULL PRIMARY KEY,
    querytext text        NOT NULL
);

CREATE TABLE IF NOT EXISTS x402_grain_state
(
    serviceid              varchar(150) NOT NULL,
    graintypehash          integer      NOT NULL,
    graintypestring        varchar(512) NOT NULL,
    grainidhash            integer      NOT NULL,
    grainidn0              bigint       NOT NULL,
    grainidn1              bigint       NOT NULL,
    grainidextensionstring varchar(512) NULL,
    payloadbinary          bytea        NULL,
    version                integer      NOT NULL,
    modifiedon             timestamptz  NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS x402_grain_state_identity
    ON x402_grain_state (grainidhash, graintypehash, serviceid, grainidn0, grainidn1, graintypestring, grainidextensionstring)
    NULLS NOT DISTINCT;

INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', $q$
SELECT payloadbinary, version
  FROM x402_grain_state
 WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND serviceid = @ServiceId
   AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1 AND graintypestring = @GrainTypeString
   AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
$q$),
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE x402_grain_state
       SET payloadbinary = @PayloadBinary, version = version + 1, modifiedon = now()
     WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND serviceid = @ServiceId
       AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1 AND graintypestring = @GrainTypeString
       AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
       AND version = @GrainStateVersion
    RETURNING version),
inserted AS (
    INSERT INTO x402_grain_state (serviceid, graintypehash, graintypestring, grainidhash, grainidn0, grainidn1, grainidextensionstring, payloadbinary, version, modifiedon)
    SELECT @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1, now()
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version)
SELECT version AS newgrainstateversion FROM updated
UNION ALL
SELECT version FROM inserted
$q$),
('ClearStorageKey', $q$
UPDATE x402_grain_state
   SET payloadbinary = NULL, version = version + 1, modifiedon = now()
 WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND serviceid = @ServiceId
   AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1 AND graintypestring = @GrainTypeString
   AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version
$q$),
('DeleteStorageKey', $q$
DELETE FROM x402_grain_state
 WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash AND serviceid = @ServiceId
   AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1 AND graintypestring = @GrainTypeString
   AND grainidextensionstring IS NOT DISTINCT FROM @GrainIdExtensionString
   AND version = @GrainStateVersion
RETURNING version + 1
$q$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext
 WHERE orleansquery.querytext IS DISTINCT FROM excluded.querytext;

COMMIT;
