-- X402Orleans: Orleans 10.4.2 ADO.NET clustering on PostgreSQL (invariant "Npgsql"), the project's own schema.
-- Re-runnable: applying it again changes nothing (IF NOT EXISTS, CREATE OR REPLACE, upserts that skip equal rows).
-- Needs PostgreSQL 15 or later. Apply with: psql -v ON_ERROR_STOP=1 -f clustering.sql
--
-- Contract notes:
--  * The provider reads its query catalogue with an unquoted SELECT, so the table and its columns are lower case.
--  * The membership version row is the table's ETag: insert and update compare it and add one in the same transaction
--    (x402_membership_insert / x402_membership_update lock the version row, so two writers with one version can't both win).
--  * The heartbeat never touches the version. Times are timestamptz (the provider binds UTC DateTimes).

BEGIN;
SELECT pg_advisory_xact_lock(402402402);

CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  varchar(64) NOT NULL PRIMARY KEY,
    querytext text        NOT NULL
);

CREATE TABLE IF NOT EXISTS x402_membership_version
(
    deploymentid varchar(150) NOT NULL PRIMARY KEY,
    version      integer      NOT NULL DEFAULT 0,
    updated_at   timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS x402_membership
(
    deploymentid varchar(150) NOT NULL,
    address      varchar(45)  NOT NULL,
    port         integer      NOT NULL,
    generation   integer      NOT NULL,
    siloname     text         NOT NULL,
    hostname     text         NOT NULL,
    status       integer      NOT NULL,
    proxyport    integer      NOT NULL,
    suspecttimes text         NULL,
    starttime    timestamptz  NOT NULL,
    iamalivetime timestamptz  NOT NULL,
    PRIMARY KEY (deploymentid, address, port, generation)
);

-- Insert one silo row if the cluster's version is still p_version and the row is new; then version + 1. False on a lost race.
CREATE OR REPLACE FUNCTION x402_membership_insert(
    p_deploymentid text, p_address text, p_port integer, p_generation integer, p_siloname text, p_hostname text,
    p_status integer, p_proxyport integer, p_starttime timestamptz, p_iamalivetime timestamptz, p_version integer)
    RETURNS boolean
    LANGUAGE plpgsql
AS $fn$
BEGIN
    PERFORM 1 FROM x402_membership_version
     WHERE deploymentid = p_deploymentid AND version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    INSERT INTO x402_membership (deploymentid, address, port, generation, siloname, hostname, status, proxyport, suspecttimes, starttime, iamalivetime)
    VALUES (p_deploymentid, p_address, p_port, p_generation, p_siloname, p_hostname, p_status, p_proxyport, NULL, p_starttime, p_iamalivetime)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE x402_membership_version SET version = version + 1, updated_at = now() WHERE deploymentid = p_deploymentid;
    RETURN true;
END
$fn$;

-- Update one silo row if the cluster's version is still p_version and the row exists; then version + 1. False otherwise,
-- with nothing changed (the version is bumped last, after the row update succeeded).
CREATE OR REPLACE FUNCTION x402_membership_update(
    p_deploymentid text, p_address text, p_port integer, p_generation integer, p_status integer, p_suspecttimes text,
    p_iamalivetime timestamptz, p_version integer)
    RETURNS boolean
    LANGUAGE plpgsql
AS $fn$
BEGIN
    PERFORM 1 FROM x402_membership_version
     WHERE deploymentid = p_deploymentid AND version = p_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE x402_membership
       SET status = p_status, suspecttimes = p_suspecttimes, iamalivetime = p_iamalivetime
     WHERE deploymentid = p_deploymentid AND address = p_address AND port = p_port AND generation = p_generation;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE x402_membership_version SET version = version + 1, updated_at = now() WHERE deploymentid = p_deploymentid;
    RETURN true;
END
$fn$;

INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', $q$
WITH created AS (
    INSERT INTO x402_membership_version (deploymentid, version) VALUES (@DeploymentId, 0)
    ON CONFLICT (deploymentid) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer AS created FROM created
$q$),
('MembershipReadAllKey', $q$
SELECT v.version, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime
  FROM x402_membership_version v
  LEFT JOIN x402_membership m ON m.deploymentid = v.deploymentid
 WHERE v.deploymentid = @DeploymentId
$q$),
('MembershipReadRowKey', $q$
SELECT v.version, m.address, m.port, m.generation, m.siloname, m.hostname, m.status, m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime
  FROM x402_membership_version v
  LEFT JOIN x402_membership m ON m.deploymentid = v.deploymentid
       AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deploymentid = @DeploymentId
$q$),
('InsertMembershipKey', $q$
SELECT x402_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version) AS inserted
$q$),
('UpdateMembershipKey', $q$
SELECT x402_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version) AS updated
$q$),
('UpdateIAmAlivetimeKey', $q$
UPDATE x402_membership SET iamalivetime = @IAmAliveTime
 WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
$q$),
('GatewaysQueryKey', $q$
SELECT address, proxyport, generation
  FROM x402_membership
 WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0
$q$),
('DeleteMembershipTableEntriesKey', $q$
WITH members AS (DELETE FROM x402_membership WHERE deploymentid = @DeploymentId)
DELETE FROM x402_membership_version WHERE deploymentid = @DeploymentId
$q$),
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM x402_membership
 WHERE deploymentid = @DeploymentId AND status = 6 AND iamalivetime < @IAmAliveTime
$q$),
('CleanupDefunctSiloEntryKey', $q$
DELETE FROM x402_membership
 WHERE deploymentid = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
   AND status = 6 AND starttime = @StartTime AND iamalivetime = @IAmAliveTime
   AND suspecttimes IS NOT DISTINCT FROM @SuspectTimes
$q$)
ON CONFLICT (querykey) DO UPDATE SET querytext = excluded.querytext
 WHERE orleansquery.querytext IS DISTINCT FROM excluded.querytext;

COMMIT;
