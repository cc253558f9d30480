-- X402Orleans: Orleans 10.4.2 ADO.NET grain persistence on SQLite (invariant "System.Data.SQLite", driver
-- Microsoft.Data.Sqlite), the project's own schema. Re-runnable: applying it again changes nothing.
-- The Local mode applies it at start to the file named by X402__Storage__Path.
--
-- Contract notes:
--  * No explicit transactions: every write is a single statement (UPDATE/INSERT ... RETURNING), atomic on its own, so a
--    failed statement can never leave a transaction open on a pooled connection.
--  * Write runs two mutually exclusive statements: the UPDATE only when an ETag was sent, the INSERT only when none was;
--    at most one of them returns a row. A unique index (NULL extension counted as one value) turns a racing first write
--    into a reported conflict instead of a second row.
--  * Placeholders are case-sensitive here and match the provider's parameter names exactly.

PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS x402_grain_state
(
    ServiceId              TEXT    NOT NULL,
    GrainTypeHash          INTEGER NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdHash            INTEGER NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainIdExtensionString TEXT    NULL,
    PayloadBinary          BLOB    NULL,
    Version                INTEGER NOT NULL,
    ModifiedOn             TEXT    NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS x402_grain_state_identity
    ON x402_grain_state (GrainIdHash, GrainTypeHash, ServiceId, GrainIdN0, GrainIdN1, GrainTypeString, IFNULL(GrainIdExtensionString, x'00'));

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', '
SELECT PayloadBinary, Version
  FROM x402_grain_state
 WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS @GrainIdExtensionString;
'),
('WriteToStorageKey', '
UPDATE x402_grain_state
   SET PayloadBinary = @PayloadBinary, Version = Version + 1, ModifiedOn = strftime(''%Y-%m-%d %H:%M:%f'', ''now'')
 WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS @GrainIdExtensionString
   AND @GrainStateVersion IS NOT NULL AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
INSERT INTO x402_grain_state (ServiceId, GrainTypeHash, GrainTypeString, GrainIdHash, GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version, ModifiedOn)
SELECT @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @PayloadBinary, 1, strftime(''%Y-%m-%d %H:%M:%f'', ''now'')
 WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING Version AS NewGrainStateVersion;
'),
('ClearStorageKey', '
UPDATE x402_grain_state
   SET PayloadBinary = NULL, Version = Version + 1, ModifiedOn = strftime(''%Y-%m-%d %H:%M:%f'', ''now'')
 WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS @GrainIdExtensionString
   AND Version = @GrainStateVersion
RETURNING Version;
'),
('DeleteStorageKey', '
DELETE FROM x402_grain_state
 WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash AND ServiceId = @ServiceId
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
   AND GrainIdExtensionString IS @GrainIdExtensionString
   AND Version = @GrainStateVersion
RETURNING Version + 1;
')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = excluded.QueryText
 WHERE OrleansQuery.QueryText IS NOT excluded.QueryText;
