/**
 * patroni.yml, built as a typed object and written with `yaml`.
 */
import { stringify } from "yaml";
import type { ClusterSecrets, ResolvedCluster, ResolvedHost } from "../model/types";
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
    restapi: { listen: string; connect_address: string; authentication: { username: string; password: string } };
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
        authentication: Record<"superuser" | "replication" | "rewind", { username: string; password: string }>;
        parameters: Record<string, string>;
        pg_hba: string[];
        create_replica_methods: string[];
        basebackup: Record<string, string>;
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
    return [
        "local   all             all                                     peer",
        "host    all             all             127.0.0.1/32            scram-sha-256",
        // Patroni checks the local timeline over a replication connection after a crash.
        `host    replication     ${p.replicationUserName.padEnd(15)} 127.0.0.1/32            scram-sha-256`,
        ...members.map((a) => `host    replication     ${p.replicationUserName.padEnd(15)} ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...members.map((a) => `host    all             all             ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...proxies.map((a) => `host    all             all             ${`${a}/32`.padEnd(23)} scram-sha-256`),
        ...p.pgHba,
        ...c.clientCidrs.map((cidr) => `host    all             all             ${cidr.padEnd(23)} scram-sha-256`),
    ];
}

/** Patroni's etcd3 settings for a TLS cluster, from its role's files. */
function etcd3Tls(paths: ReturnType<typeof tlsPaths>): Pick<PatroniConfig["etcd3"], "protocol" | "cacert" | "cert" | "key"> {
    return { protocol: "https", cacert: paths.ca, cert: paths.cert, key: paths.key };
}

export function buildPatroniConfig(c: ResolvedCluster, host: ResolvedHost, secrets: ClusterSecrets): PatroniConfig {
    const p = c.patroni;
    const hba = renderPgHba(c);
    const api = `${host.address}:${p.restApiPort}`;
    const pg = `${host.address}:${p.postgresPort}`;
    return {
        scope: c.scope,
        namespace: c.namespace,
        name: host.name,
        log: { level: "INFO" },
        restapi: {
            listen: api,
            connect_address: api,
            authentication: { username: p.restApiUserName, password: secrets.restApiPassword },
        },
        etcd3: {
            hosts: c.hosts.etcd.map((e) => `${e.address}:${c.etcd.clientPort}`),
            // With TLS Patroni presents its member's certificate: etcd requires one of the cluster's CA.
            ...(c.tls.enabled ? etcd3Tls(tlsPaths("patroni")) : { protocol: "http" as const }),
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
                superuser: { username: p.superuserName, password: secrets.superuserPassword },
                replication: { username: p.replicationUserName, password: secrets.replicationPassword },
                rewind: { username: p.rewindUserName, password: secrets.rewindPassword },
            },
            parameters: { unix_socket_directories: c.layout.socketDir },
            pg_hba: hba,
            create_replica_methods: ["basebackup"],
            basebackup: { checkpoint: "fast" },
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
