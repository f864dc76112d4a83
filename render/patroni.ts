/**
 * patroni.yml, built as a typed object and written with `yaml`.
 */
import { stringify } from "yaml";
import { PGBACKREST_BIN, restoreCommand } from "../model/backup";
import type { ClusterSecrets, ResolvedCluster, ResolvedHost } from "../model/types";
import { POSTGRES_TLS_MIN_PROTOCOL } from "../model/validate";
import { tlsPaths } from "./tls";

/** The subset of Patroni's YAML configuration this project writes. */
/** The cluster-wide settings Patroni keeps in the DCS (its dynamic configuration). */
export interface DcsConfig {
    ttl: number;
    loop_wait: number;
    retry_timeout: number;
    maximum_lag_on_failover: number;
    synchronous_mode: boolean | "quorum";
    synchronous_mode_strict: boolean;
    synchronous_node_count: number;
    failsafe_mode: boolean;
    primary_start_timeout: number;
    postgresql: { use_pg_rewind: boolean; use_slots: boolean; parameters: Record<string, string | number | boolean> };
}

/**
 * The desired DCS configuration. Patroni reads `bootstrap.dcs` only when it creates the cluster; the
 * dcs-config step brings a running cluster to this same value through the REST API, so the two
 * never disagree.
 */
export function dcsConfig(c: ResolvedCluster): DcsConfig {
    const p = c.patroni;
    return {
        ttl: p.ttlSec,
        loop_wait: p.loopWaitSec,
        retry_timeout: p.retryTimeoutSec,
        maximum_lag_on_failover: p.maximumLagOnFailoverBytes,
        synchronous_mode: p.synchronousMode,
        synchronous_mode_strict: p.synchronousModeStrict,
        synchronous_node_count: p.synchronousNodeCount,
        failsafe_mode: p.failsafeMode,
        primary_start_timeout: p.primaryStartTimeoutSec,
        postgresql: { use_pg_rewind: p.usePgRewind, use_slots: p.useSlots, parameters: p.parameters },
    };
}

export interface PatroniConfig {
    scope: string;
    namespace: string;
    name: string;
    log: { level: string };
    restapi: {
        listen: string;
        connect_address: string;
        authentication: { username: string; password: string };
        certfile?: string;
        keyfile?: string;
        cafile?: string;
        verify_client?: "none" | "optional" | "required";
    };
    /** How Patroni calls the other members' REST API, and patronictl calls any member's. */
    ctl?: { cacert: string; certfile: string; keyfile: string };
    etcd3: { hosts: string[]; protocol: "http" | "https"; cacert?: string; cert?: string; key?: string };
    bootstrap: {
        dcs: DcsConfig;
        initdb: Array<string | Record<string, string>>;
        pg_hba: string[];
    };
    postgresql: {
        listen: string;
        connect_address: string;
        data_dir: string;
        bin_dir: string;
        pgpass: string;
        authentication: Record<"superuser" | "replication" | "rewind", { username: string; password: string } & Partial<LibpqTls>>;
        parameters: Record<string, string>;
        pg_hba: string[];
        create_replica_methods: string[];
        /** With backups: a new member is restored from the repository (see replicaMethods). */
        pgbackrest?: { command: string; keep_data: boolean; no_params: boolean };
        basebackup: Record<string, string>;
        /** With backups: a replica fetches WAL its primary no longer has from the archive. */
        recovery_conf?: { restore_command: string };
        remove_data_directory_on_rewind_failure: boolean;
    };
    watchdog: { mode: string; device: string; safety_margin: number };
    tags: { nofailover: boolean; noloadbalance: boolean; clonefrom: boolean; nosync: boolean };
}

/**
 * pg_hba for every member: local peer access, then scram-sha-256 from the cluster's own hosts
 * (members replicate and rewind; HAProxy forwards clients from its own address), the user's extra
 * lines, and last the client CIDRs. Nothing is open to the world unless the user lists it.
 */
export function renderPgHba(c: ResolvedCluster): string[] {
    const p = c.patroni;
    const members = c.hosts.patroni.map((h) => h.address);
    const proxies = c.hosts.haproxy.map((h) => h.address).filter((a) => !members.includes(a));
    // With TLS every TCP connection must be encrypted: hostssl, never host.
    const host = (c.tls.enabled ? "hostssl" : "host").padEnd(7);
    return [
        "local   all             all                                     peer",
        `${host} all             all             127.0.0.1/32            scram-sha-256`,
        // Patroni checks the local timeline over a replication connection after a crash.
        `${host} replication     ${p.replicationUserName.padEnd(15)} 127.0.0.1/32            scram-sha-256`,
        ...members.map((a) => `${host} replication     ${p.replicationUserName.padEnd(15)} ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...members.map((a) => `${host} all             all             ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...proxies.map((a) => `${host} all             all             ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...p.pgHba,
        ...c.clientCidrs.map((cidr) => `${host} all             all             ${cidr.padEnd(23)} scram-sha-256`),
    ];
}

/** How a member's libpq connections (replication, rewind, Patroni's own) verify the server they dial. */
interface LibpqTls {
    sslmode: "verify-full";
    sslrootcert: string;
}

/**
 * With TLS: PostgreSQL's server settings, and what libpq needs to verify a member. verify-full
 * checks the member's connect address against its certificate's names (IP names need libpq 14 or
 * later; every supported release ships one).
 */
function postgresTls(c: ResolvedCluster, paths: ReturnType<typeof tlsPaths>): { parameters: Record<string, string>; libpq: LibpqTls } {
    // A member's own file beats the DCS: the spec's TLSv1.3 (the only other value validation allows) must be written here too.
    const minProtocol = String(c.patroni.parameters.ssl_min_protocol_version ?? POSTGRES_TLS_MIN_PROTOCOL);
    return {
        parameters: { ssl: "on", ssl_cert_file: paths.cert, ssl_key_file: paths.key, ssl_ca_file: paths.ca, ssl_min_protocol_version: minProtocol },
        libpq: { sslmode: "verify-full", sslrootcert: paths.ca },
    };
}

/** Patroni's etcd3 settings for a TLS cluster, from its role's files. */
function etcd3Tls(paths: ReturnType<typeof tlsPaths>): Pick<PatroniConfig["etcd3"], "protocol" | "cacert" | "cert" | "key"> {
    return { protocol: "https", cacert: paths.ca, cert: paths.cert, key: paths.key };
}

/**
 * How a new member gets its data: with backups, restored from the repository first (the primary
 * only streams what the backup lacks), pg_basebackup from a running member when that fails (no backup
 * yet, the repository unreachable). Patroni's options (docs/replica_bootstrap.rst, "Building
 * replicas"; postgresql/bootstrap.py create_replica): `keep_data` leaves the data directory for
 * pgBackRest's `--delta` restore, which reuses the files that still match (a reinit copies only what
 * differs); `no_params` passes no `--scope`/`--datadir`/... arguments pgBackRest would refuse. No
 * `no_leader`: a member never restores from the repository without a running leader to follow —
 * restoring a whole cluster is the restore procedure's, to a chosen target, never a side effect of an
 * empty data directory. `--type=standby` writes standby.signal, so a restored copy never promotes itself.
 */
function replicaMethods(c: ResolvedCluster): Pick<PatroniConfig["postgresql"], "create_replica_methods" | "pgbackrest"> {
    if (!c.backup.enabled) return { create_replica_methods: ["basebackup"] };
    return {
        create_replica_methods: ["pgbackrest", "basebackup"],
        pgbackrest: { command: `${PGBACKREST_BIN} --stanza=${c.scope} --type=standby --delta restore`, keep_data: true, no_params: true },
    };
}

export function buildPatroniConfig(c: ResolvedCluster, host: ResolvedHost, secrets: ClusterSecrets): PatroniConfig {
    const p = c.patroni;
    const hba = renderPgHba(c);
    const api = `${host.address}:${p.restApiPort}`;
    const pg = `${host.address}:${p.postgresPort}`;
    const paths = tlsPaths("patroni");
    const pgTls = c.tls.enabled ? postgresTls(c, paths) : null;
    const login = (username: string, password: string) => ({ username, password, ...pgTls?.libpq });
    return {
        scope: c.scope,
        namespace: c.namespace,
        name: host.name,
        log: { level: "INFO" },
        restapi: {
            listen: api,
            connect_address: api,
            authentication: { username: p.restApiUserName, password: secrets.restApiPassword },
            // HTTPS; the endpoints that change state also want a certificate of the cluster's CA
            // (Patroni's "optional": api.py check_access), so HAProxy's checks need none.
            ...(c.tls.enabled ? { certfile: paths.cert, keyfile: paths.key, cafile: paths.ca, verify_client: "optional" as const } : {}),
        },
        ...(c.tls.enabled ? { ctl: { cacert: paths.ca, certfile: paths.cert, keyfile: paths.key } } : {}),
        etcd3: {
            hosts: c.hosts.etcd.map((e) => `${e.address}:${c.etcd.clientPort}`),
            // With TLS Patroni presents its member's certificate: etcd requires one of the cluster's CA.
            ...(c.tls.enabled ? etcd3Tls(paths) : { protocol: "http" as const }),
        },
        bootstrap: {
            // Patroni 4.0.7's validator (patroni --validate-config, run on every write) accepts only a
            // boolean here (patroni/validator.py: synchronous_mode: bool; fixed after 4.1.4), though the
            // running Patroni takes "quorum": a quorum cluster bootstraps synchronous, and the
            // dcs-config step switches it to quorum right after.
            dcs: { ...dcsConfig(c), synchronous_mode: dcsConfig(c).synchronous_mode === "quorum" ? true : dcsConfig(c).synchronous_mode },
            initdb: [{ encoding: "UTF8" }, { locale: "C.UTF-8" }, ...(p.dataChecksums ? ["data-checksums"] : []), { "auth-host": "scram-sha-256" }, { "auth-local": "peer" }],
            pg_hba: hba,
        },
        postgresql: {
            listen: pg,
            connect_address: pg,
            data_dir: c.layout.pgDataDir,
            bin_dir: c.layout.pgBinDir,
            pgpass: `${c.layout.postgresHome}/.pgpass_patroni`,
            authentication: {
                superuser: login(p.superuserName, secrets.superuserPassword),
                replication: login(p.replicationUserName, secrets.replicationPassword),
                rewind: login(p.rewindUserName, secrets.rewindPassword),
            },
            parameters: { unix_socket_directories: c.layout.socketDir, ...pgTls?.parameters },
            pg_hba: hba,
            ...replicaMethods(c),
            basebackup: { checkpoint: "fast" },
            ...(c.backup.enabled ? { recovery_conf: { restore_command: restoreCommand(c.scope) } } : {}),
            remove_data_directory_on_rewind_failure: true,
        },
        watchdog: { mode: p.watchdog, device: "/dev/watchdog", safety_margin: 5 },
        tags: { ...host.tags },
    };
}

export function renderPatroniYml(c: ResolvedCluster, host: ResolvedHost, secrets: ClusterSecrets): string {
    return `# Managed by pulumi-patroni: member ${host.name} of cluster ${c.scope}. Local edits are overwritten.\n` +
        stringify(buildPatroniConfig(c, host, secrets), { lineWidth: 0, aliasDuplicateObjects: false, version: "1.1" });
}
