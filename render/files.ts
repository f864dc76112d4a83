/**
 * Everything each host receives: configuration files and the scripts of each step. Pure functions
 * over the resolved cluster (and, for files holding secrets, the plain secrets inside an `apply`).
 * The components and `npm run render` call the same functions, so what a reviewer diffs is what
 * the hosts get.
 */
import { createHash } from "crypto";
import * as path from "path";
import { RELEASES } from "../model/distro";
import type { ClusterSecrets, HostRole, ResolvedCluster, ResolvedHost, ResolvedKeepalived, VipMover, VipMoverUnit } from "../model/types";
import { dcsConfig, renderPatroniYml } from "./patroni";
import { renderTemplate } from "./templates";
import { TLS_DIRS, tlsPaths } from "./tls";

/** The tool that checks a file on its host before it replaces the live one. */
export type Validator = "patroni" | "haproxy" | "keepalived" | "envfile" | "shell" | "none";

/** A file written on a host from standard input by the write-file script. */
export interface RenderedFile {
    /** Short name for resource names: `patroni-yml`, `haproxy-cfg`, ... */
    id: string;
    path: string;
    content: string;
    /** Octal mode, e.g. "0640". */
    mode: string;
    /** owner:group */
    owner: string;
    validator: Validator;
    /** The content holds a secret: keep it secret in Pulumi and 0600/0640 on disk. */
    secret: boolean;
    /** A systemd unit file or drop-in: `systemctl daemon-reload` after writing it. */
    reloadSystemd: boolean;
    /** What the service re-reads of it, when not all of it (its hash re-runs the service's start step). */
    appliedContent?: string;
}

/**
 * A role's TLS files on a host (with `tls.enabled`): the CA's certificate, and — where the service
 * presents one — this host's certificate and key (the key 0600, the service's own). HAProxy only
 * verifies the members' REST API: it gets the CA alone.
 */
export function tlsFiles(c: ResolvedCluster, host: ResolvedHost, role: HostRole, secrets: ClusterSecrets): RenderedFile[] {
    if (!c.tls.enabled) return [];
    const tls = secrets.tls;
    // A balancer only verifies (its checks): it gets the CAs, not a certificate.
    const serves = role !== "haproxy";
    if (!tls || (serves && !tls.hosts[host.name])) throw new Error(`tls.enabled, but no certificate for host ${host.name}`);
    const { owner } = TLS_DIRS[role];
    const paths = tlsPaths(role);
    // All travel as secrets: the certificates are not, but they come with the secrets (only the key is 0600).
    const file = (id: string, filePath: string, content: string, mode: string): RenderedFile => ({ id, path: filePath, content, mode, owner, validator: "none", secret: true, reloadSystemd: false });
    return [
        file("tls-ca", paths.ca, tls.caCert, "0644"),
        ...(!serves ? [] : [file("tls-cert", paths.cert, tls.hosts[host.name].cert, "0644"), file("tls-key", paths.key, tls.hosts[host.name].key, "0600")]),
    ];
}

/** Bounded waits of the health gates. */
export const GATE_TIMEOUTS_SEC = {
    hostReady: 600,
    etcdHealthy: 180,
    patroniLeader: 300,
    patroniReplicas: 600,
    vip: 120,
    volume: 300,
    pgbackrestServer: 60,
    pgbackrestStanza: 300,
    restApiCertificate: 60,
} as const;

export function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

// ----- configuration files --------------------------------------------------------------------

/** This project's drop-in for a systemd service; systemd re-reads units after it is written. */
function systemdDropIn(id: string, service: string, content: string): RenderedFile {
    return {
        id,
        path: `/etc/systemd/system/${service}.service.d/pulumi-patroni.conf`,
        content,
        mode: "0644",
        owner: "root:root",
        validator: "none",
        secret: false,
        reloadSystemd: true,
    };
}

/** etcd speaks TLS to clients and peers when the cluster has it. */
const etcdScheme = (c: ResolvedCluster) => (c.tls.enabled ? "https" : "http");
const etcdPeerUrl = (c: ResolvedCluster, host: ResolvedHost) => `${etcdScheme(c)}://${host.address}:${c.etcd.peerPort}`;
/** A member's etcd client URL (the lab's own clients use it too). */
export const etcdClientUrl = (c: ResolvedCluster, host: Pick<ResolvedHost, "address">) => `${etcdScheme(c)}://${host.address}:${c.etcd.clientPort}`;
/** With TLS, where etcd and etcdctl on an etcd host find the CA and that host's certificate (server and client). */
const etcdTls = (c: ResolvedCluster) => (c.tls.enabled ? tlsPaths("etcd") : null);

/**
 * Where a member that joins a running cluster keeps the cluster it joined (ETCD_INITIAL_CLUSTER,
 * state existing): read after the configuration file, so it wins; only for the member's first start.
 */
export function etcdJoinEnvPath(c: ResolvedCluster): string {
    return `${c.layout.etcdConfigPath}-join`;
}

/** The members the stack has, as "name peer-url" lines (how the start and health steps compare the running membership). */
function etcdDesiredMembers(c: ResolvedCluster): string {
    return c.hosts.etcd.map((e) => `${e.name} ${etcdPeerUrl(c, e)}`).join("\n");
}

export function etcdFiles(c: ResolvedCluster, host: ResolvedHost): RenderedFile[] {
    const initialCluster = c.hosts.etcd.map((e) => `${e.name}=${etcdPeerUrl(c, e)}`).join(",");
    const content = renderTemplate("etcd.conf", {
        name: host.name,
        address: host.address,
        dataDir: c.layout.etcdDataDir,
        initialCluster,
        scheme: etcdScheme(c),
        tls: etcdTls(c),
        ...c.etcd,
    });
    return [
        {
            id: "etcd-conf",
            path: c.layout.etcdConfigPath,
            content,
            mode: "0644",
            owner: "root:root",
            validator: "envfile",
            secret: false,
            reloadSystemd: false,
            // The initial cluster is read only at a member's first start: a member added or removed
            // elsewhere rewrites the file but restarts no running member (quorum stays intact).
            appliedContent: content.replace(/^ETCD_INITIAL_CLUSTER=.*\n/m, ""),
        },
        systemdDropIn("etcd-dropin", c.layout.etcdService, renderTemplate("etcd.service.conf", { service: c.layout.etcdService, joinEnvPath: etcdJoinEnvPath(c) })),
    ];
}

export function patroniFiles(c: ResolvedCluster, host: ResolvedHost, secrets: ClusterSecrets): RenderedFile[] {
    return [
        {
            id: "patroni-yml",
            path: c.layout.patroniConfigPath,
            content: renderPatroniYml(c, host, secrets),
            mode: "0600",
            owner: "postgres:postgres",
            validator: "patroni",
            secret: true,
            reloadSystemd: false,
        },
        systemdDropIn("patroni-dropin", c.layout.patroniService, renderTemplate("patroni.service.conf", { service: c.layout.patroniService })),
    ];
}

const CHECK_SCRIPT = "/etc/keepalived/check-haproxy.sh";
const HAPROXY_STATE_FILE = "/var/lib/haproxy/server-state";
const NOTIFY_MASTER_SCRIPT = "/etc/keepalived/notify-master.sh";
/**
 * Where a VIP mover that finds Keepalived's interface on the host (`VipMover.interfaceOnHost`)
 * writes it, and the keepalived.conf parameter it defines there.
 */
export const KEEPALIVED_INTERFACE = { path: "/etc/keepalived/pgha-interface.conf", param: "PGHA_INTERFACE" } as const;

/** The VIP mover's way of finding the interface on the host; undefined when it is `keepalived.interface`. */
export function interfaceOnHost(k: ResolvedKeepalived): VipMover["interfaceOnHost"] {
    return k.moveVipWith?.interfaceOnHost;
}

/** The script that writes KEEPALIVED_INTERFACE on a balancer (only with `interfaceOnHost`). */
export function keepalivedInterfaceScript(k: ResolvedKeepalived): string {
    const found = interfaceOnHost(k);
    if (!found) throw new Error(`keepalived.interface is ${k.interface}: nothing finds it on the host`);
    return found.script(KEEPALIVED_INTERFACE);
}

/** The systemd units the VIP mover adds on each balancer (none without a mover). */
export function vipMoverUnits(k: ResolvedKeepalived): VipMoverUnit[] {
    return k.moveVipWith?.units({ vip: k.vip, notifyMasterPath: NOTIFY_MASTER_SCRIPT }) ?? [];
}

/** A provider's text placed on lines of its own in a template: without its final newline. */
const asLines = (text: string) => text.replace(/\n$/, "");

/** Keepalived settings of a cluster whose front door is the VIP; a programming error otherwise. */
export function vipSettings(c: ResolvedCluster): ResolvedKeepalived {
    if (!c.keepalived) throw new Error(`cluster ${c.scope} has frontDoor ${c.frontDoor}: it has no VIP and no HAProxy hosts`);
    return c.keepalived;
}

/** HAProxy and Keepalived files of the proxy host at `index` in `hosts.haproxy`. */
export function proxyFiles(c: ResolvedCluster, host: ResolvedHost): RenderedFile[] {
    const index = c.hosts.haproxy.findIndex((h) => h.name === host.name);
    const k = vipSettings(c);
    const notify = k.notifyMasterCommand !== undefined || k.moveVipWith !== undefined;
    const peers = c.hosts.haproxy.filter((h) => h.name !== host.name).map((h) => h.address);
    const files: RenderedFile[] = [
        {
            id: "haproxy-cfg",
            path: "/etc/haproxy/haproxy.cfg",
            content: renderTemplate("haproxy.cfg", {
                scope: c.scope,
                hostName: host.name,
                ...c.haproxy,
                stateFile: HAPROXY_STATE_FILE,
                maximumLagBytes: c.patroni.maximumLagOnFailoverBytes,
                balancers: k.unicast ? balancerList(c) : null,
                balancerList: BALANCER_LIST,
                members: c.hosts.patroni.map((m) => ({
                    name: m.name,
                    address: m.address,
                    postgresPort: c.patroni.postgresPort,
                    restApiPort: c.patroni.restApiPort,
                })),
                checkTls: c.tls.enabled ? tlsPaths("haproxy") : null,
            }),
            mode: "0644",
            owner: "root:root",
            validator: "haproxy",
            secret: false,
            reloadSystemd: false,
        },
        systemdDropIn("haproxy-dropin", "haproxy", renderTemplate("haproxy.service.conf", { primaryPort: c.haproxy.primaryPort, stateFile: HAPROXY_STATE_FILE })),
        {
            id: "check-haproxy",
            path: CHECK_SCRIPT,
            content: renderTemplate("check-haproxy.sh", { peers: k.unicast ? peers.join(" ") : null, address: host.address, statsPort: c.haproxy.statsPort, balancerList: BALANCER_LIST }),
            mode: "0755",
            owner: "root:root",
            validator: "shell",
            secret: false,
            reloadSystemd: false,
        },
    ];
    if (notify) {
        const move = k.moveVipWith?.notifyMaster(k.vip);
        files.push({
            id: "notify-master",
            path: NOTIFY_MASTER_SCRIPT,
            content: renderTemplate("notify-master.sh", {
                vip: k.vip,
                move: move ? { note: asLines(move.note), commands: asLines(move.commands) } : null,
                command: k.notifyMasterCommand ?? null,
            }),
            mode: "0755",
            owner: "root:root",
            validator: "shell",
            secret: false,
            reloadSystemd: false,
        });
    }
    for (const unit of vipMoverUnits(k)) {
        files.push({ id: unit.id, path: `/etc/systemd/system/${unit.unit}`, content: unit.content, mode: "0644", owner: "root:root", validator: "none", secret: false, reloadSystemd: true });
    }
    const found = interfaceOnHost(k);
    files.push({
        id: "keepalived-conf",
        path: "/etc/keepalived/keepalived.conf",
        content: renderTemplate("keepalived.conf", {
            scope: c.scope,
            hostName: host.name,
            address: host.address,
            instanceName: `VI_${c.scope.replace(/-/g, "_")}`,
            interface: found ? `$${KEEPALIVED_INTERFACE.param}` : k.interface,
            interfaceInclude: found ? KEEPALIVED_INTERFACE.path : null,
            interfaceParam: KEEPALIVED_INTERFACE.param,
            interfaceNote: found?.note ?? null,
            virtualRouterId: k.virtualRouterId,
            priority: k.priorities[index],
            advertIntervalSec: k.advertIntervalSec,
            checkIntervalSec: k.checkIntervalSec,
            checkTimeoutSec: k.checkTimeoutSec,
            checkFall: k.checkFall,
            checkRise: k.checkRise,
            // A lone proxy has no peer to advertise to; keepalived refuses an empty unicast_peer block.
            unicast: k.unicast && peers.length > 0,
            peers,
            vip: k.vip,
            vipPrefixLength: k.vipPrefixLength,
            checkScriptPath: CHECK_SCRIPT,
            notifyMasterScriptPath: notify ? NOTIFY_MASTER_SCRIPT : null,
        }),
        mode: "0644",
        owner: "root:root",
        validator: "keepalived",
        secret: false,
        reloadSystemd: false,
    });
    return files;
}

/** Every configuration file a host receives, across the roles it plays. */
export function hostConfigFiles(c: ResolvedCluster, hostName: string, secrets: ClusterSecrets): RenderedFile[] {
    const files: RenderedFile[] = [];
    const find = (role: HostRole) => c.hosts[role].find((h) => h.name === hostName);
    const etcd = find("etcd");
    const patroni = find("patroni");
    const proxy = find("haproxy");
    if (etcd) files.push(...etcdFiles(c, etcd));
    if (patroni) files.push(...patroniFiles(c, patroni, secrets));
    if (proxy) files.push(...proxyFiles(c, proxy));
    return files;
}

// ----- step scripts ---------------------------------------------------------------------------

export function writeFileScript(file: RenderedFile): string {
    return renderTemplate("write-file.sh", {
        path: file.path,
        mode: file.mode,
        owner: file.owner,
        validator: file.validator,
        reloadSystemd: file.reloadSystemd,
    });
}

/** Removes a file written by writeFileScript: what its step runs when deleted. */
export function removeFileScript(file: RenderedFile): string {
    return renderTemplate("remove-file.sh", { path: file.path, reloadSystemd: file.reloadSystemd });
}

/**
 * What a service's start step runs when deleted (`pulumi destroy`, or the host left the cluster):
 * stop and disable the services; with `data`, move the data directory aside (or delete it, when
 * `data.delete`); with `patroni`, a member leaving a running cluster hands over and its slot goes first.
 */
export function stopServicesScript(
    hostName: string,
    services: string[],
    options: {
        data?: { dir: string; postgresBinDir?: string; delete?: boolean };
        removeFiles?: string[];
        patroni?: { configPath: string; service: string; restApiUrl: string; timeoutSec: number; slotName: string; postgresPort: number; superuserName: string };
        clientTls?: ReturnType<typeof tlsPaths> | null;
    } = {},
): string {
    return renderTemplate("stop-services.sh", {
        hostName,
        services,
        dataDir: options.data?.dir ?? null,
        deleteData: options.data?.delete ?? false,
        postgresBinDir: options.data?.postgresBinDir ?? null,
        removeFiles: options.removeFiles ?? [],
        patroni: options.patroni ?? null,
        clientTls: options.clientTls ?? null,
    });
}

export function etcdStopScript(c: ResolvedCluster, host: ResolvedHost): string {
    return stopServicesScript(host.name, [c.layout.etcdService], { data: { dir: c.layout.etcdDataDir }, removeFiles: [etcdJoinEnvPath(c)] });
}

export function patroniStopScript(c: ResolvedCluster, host: ResolvedHost): string {
    return stopServicesScript(host.name, [c.layout.patroniService], {
        data: { dir: c.layout.pgDataDir, postgresBinDir: c.layout.pgBinDir, delete: c.patroni.removedMemberData === "delete" },
        patroni: {
            configPath: c.layout.patroniConfigPath,
            service: c.layout.patroniService,
            restApiUrl: restApiUrl(c, host),
            timeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
            // Patroni's slot_name_from_member_name: lower case, anything but [a-z0-9_] as "_".
            slotName: host.name.toLowerCase().replace(/[^a-z0-9_]/g, "_"),
            postgresPort: c.patroni.postgresPort,
            superuserName: c.patroni.superuserName,
        },
        ...memberClientTls(c),
    });
}

/** Keepalived first, so the VIP leaves a node before its HAProxy does. */
export function proxyStopScript(host: ResolvedHost): string {
    return stopServicesScript(host.name, ["keepalived", "haproxy"]);
}

/** Waits until the host can take installs, and refuses a host that runs another release than `os`. */
export function hostReadyScript(c: ResolvedCluster): string {
    return renderTemplate("host-ready.sh", { timeoutSec: GATE_TIMEOUTS_SEC.hostReady, os: c.layout.release, osRelease: RELEASES[c.layout.release].osRelease });
}

export function installScript(c: ResolvedCluster, role: HostRole, host: ResolvedHost): string {
    // With TLS the hosts' guards verify certificates with openssl (tlsGuardScript).
    const common = { hostName: host.name, layout: c.layout, packages: [...c.layout.packages[role], ...(c.tls.enabled ? ["openssl"] : [])] };
    switch (role) {
        case "etcd":
            return renderTemplate("install-etcd.sh", {
                ...common,
                configPath: c.layout.etcdConfigPath,
                dataDir: c.layout.etcdDataDir,
                service: c.layout.etcdService,
            });
        case "patroni":
            return renderTemplate("install-patroni.sh", {
                ...common,
                // With backups, pgBackRest (archive_command, restores) comes with PostgreSQL.
                packages: c.backup.enabled ? [...common.packages, ...c.layout.packages.backup] : common.packages,
                backupSpoolPath: c.backup.enabled ? c.backup.spoolPath : null,
                postgresVersion: c.postgresVersion,
                configPath: c.layout.patroniConfigPath,
                dataDir: c.layout.pgDataDir,
                watchdogMode: c.patroni.watchdog,
            });
        case "haproxy": {
            // What the VIP mover's part of notify_master calls (e.g. a cloud's CLI), only with one.
            const mover = c.keepalived?.moveVipWith?.install(c.layout.release) ?? { packages: [], commands: [] };
            return renderTemplate("install-haproxy.sh", { ...common, packages: [...common.packages, ...mover.packages], extraCommands: mover.commands });
        }
        case "backup":
            return renderTemplate("install-pgbackrest.sh", { ...common, repositoryPath: c.backup.repository.path });
    }
}

/**
 * Where a host's data volume is mounted (by its provider's mount step): the role's data root, so
 * the package's paths land on it.
 */
export function dataMountPoint(c: ResolvedCluster, role: "etcd" | "patroni"): string {
    return role === "patroni" ? c.layout.postgresHome : path.posix.dirname(c.layout.etcdDataDir);
}

/** A file a service's start step applies: its content hash is part of the step, so a change re-runs it. */
export interface AppliedFile {
    path: string;
    sha256: string;
}

export function appliedFiles(files: RenderedFile[]): AppliedFile[] {
    return files.map((f) => ({ path: f.path, sha256: sha256(f.appliedContent ?? f.content) }));
}

/** Starts the member, or (when its files changed) restarts it and waits until it is healthy. */
export function etcdStartScript(c: ResolvedCluster, host: ResolvedHost, applies: AppliedFile[]): string {
    return renderTemplate("etcd-start.sh", {
        hostName: host.name,
        name: host.name,
        service: c.layout.etcdService,
        endpoint: etcdClientUrl(c, host),
        peerUrl: etcdPeerUrl(c, host),
        scheme: etcdScheme(c),
        etcdTls: etcdTls(c),
        configPath: c.layout.etcdConfigPath,
        clientPort: c.etcd.clientPort,
        joinEnvPath: etcdJoinEnvPath(c),
        dataDir: c.layout.etcdDataDir,
        timeoutSec: GATE_TIMEOUTS_SEC.etcdHealthy,
        applies,
    });
}

export function etcdEndpoints(c: ResolvedCluster): string[] {
    return c.hosts.etcd.map((e) => etcdClientUrl(c, e));
}

/** Refuses to write a TLS configuration over a member that runs without TLS (see the template). */
/**
 * Before any of the deployment's files change: on a host that already has the role's TLS files, the
 * new certificate must verify against the CAs it trusts now, and its certificate now against the new
 * CAs (`tlsGuardStdin`); on an etcd host, etcd must not run without TLS.
 */
export function tlsGuardScript(c: ResolvedCluster, host: ResolvedHost, role: HostRole): string {
    const paths = tlsPaths(role);
    return renderTemplate("tls-guard.sh", {
        hostName: host.name,
        role,
        caPath: paths.ca,
        certPath: role === "haproxy" ? "" : paths.cert,
        etcdConfigPath: role === "etcd" ? c.layout.etcdConfigPath : "",
        certMark: TLS_GUARD_CERT_MARK,
    });
}

/** What a host's TLS guard checks: the CAs to trust, then (a host that serves TLS) its new certificate. */
export function tlsGuardStdin(host: ResolvedHost, role: HostRole, secrets: ClusterSecrets): string {
    const tls = secrets.tls!;
    return role === "haproxy" ? tls.caCert : `${tls.caCert}${TLS_GUARD_CERT_MARK}\n${tls.hosts[host.name].cert}`;
}

/** The line between the CAs and the certificate on a TLS guard's standard input. */
const TLS_GUARD_CERT_MARK = "# certificate";

export function etcdHealthScript(c: ResolvedCluster): string {
    return renderTemplate("etcd-health.sh", {
        endpoints: etcdEndpoints(c).join(","),
        desiredMembers: etcdDesiredMembers(c),
        etcdTls: etcdTls(c),
        service: c.layout.etcdService,
        timeoutSec: GATE_TIMEOUTS_SEC.etcdHealthy,
    });
}

export function patroniStartScript(c: ResolvedCluster, host: ResolvedHost): string {
    return renderTemplate("patroni-start.sh", {
        hostName: host.name,
        address: host.address,
        service: c.layout.patroniService,
        configPath: c.layout.patroniConfigPath,
    });
}

/** Reloads a running member when its files changed. */
export function patroniReloadScript(c: ResolvedCluster, host: ResolvedHost, applies: AppliedFile[]): string {
    return renderTemplate("patroni-reload.sh", {
        hostName: host.name,
        service: c.layout.patroniService,
        applies,
        // With TLS: where the REST API serves the member's certificate, which a reload must make it serve.
        restApi: c.tls.enabled ? { address: host.address, port: c.patroni.restApiPort, certPath: tlsPaths("patroni").cert, timeoutSec: GATE_TIMEOUTS_SEC.restApiCertificate } : undefined,
    });
}

/**
 * Brings the DCS configuration to dcsConfig(c) through any member's REST API, then restarts the
 * members that need it without a write outage longer than a switchover; the password on stdin.
 */
export function patroniDcsConfigScript(c: ResolvedCluster): string {
    return renderTemplate("patroni-dcs-config.sh", {
        restApiUrls: c.hosts.patroni.map((h) => restApiUrl(c, h)).join(","),
        restApiUser: c.patroni.restApiUserName,
        desiredJson: JSON.stringify(dcsConfig(c)),
        // PostgreSQL parameters are the cluster's own: one removed from the spec is removed from the DCS.
        ownedJson: JSON.stringify([["postgresql", "parameters"]]),
        memberNamesJson: JSON.stringify(c.hosts.patroni.map((h) => h.name)),
        // The first member's own server checks new parameters (it runs on the first member).
        postgresBinary: `${c.layout.pgBinDir}/postgres`,
        dataDir: c.layout.pgDataDir,
        postgresVersion: String(c.postgresVersion),
        timeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
        ...memberClientTls(c),
    });
}

/** Every member's REST API, space-separated (for a shell loop). */
function restApiUrls(c: ResolvedCluster): string {
    return c.hosts.patroni.map((h) => restApiUrl(c, h)).join(" ");
}

/** A member's Patroni REST API (the lab's own clients use it too). */
export function restApiUrl(c: ResolvedCluster, host: Pick<ResolvedHost, "address">): string {
    return `${c.tls.enabled ? "https" : "http"}://${host.address}:${c.patroni.restApiPort}`;
}

/**
 * With TLS, the files a step on a member verifies the cluster's servers with and presents to
 * Patroni's REST API (templates/_tls-clients.sh.hbs): every such step runs on a member.
 */
function memberClientTls(c: ResolvedCluster): { clientTls: ReturnType<typeof tlsPaths> | null } {
    return { clientTls: c.tls.enabled ? tlsPaths("patroni") : null };
}

/** Hands the leader role over when the leader is a member the stack no longer has; see templates/patroni-handover.sh.hbs. */
export function patroniHandoverScript(c: ResolvedCluster): string {
    return renderTemplate("patroni-handover.sh", {
        configPath: c.layout.patroniConfigPath,
        memberNames: c.hosts.patroni.map((h) => h.name).join(","),
        timeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
    });
}

/** Changes the passwords of the roles Patroni logs in with on a running cluster; see templates/patroni-credentials.sh.hbs. */
export function patroniCredentialsScript(c: ResolvedCluster): string {
    return renderTemplate("patroni-credentials.sh", {
        restApiUrls: restApiUrls(c),
        dataDir: c.layout.pgDataDir,
        configPath: c.layout.patroniConfigPath,
        service: c.layout.patroniService,
        superuserName: c.patroni.superuserName,
        replicationUserName: c.patroni.replicationUserName,
        rewindUserName: c.patroni.rewindUserName,
        ...libpqMembers(c),
        timeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
        ...memberClientTls(c),
    });
}

export function patroniLeaderGateScript(c: ResolvedCluster, host: ResolvedHost): string {
    return renderTemplate("patroni-leader-gate.sh", {
        hostName: host.name,
        restApiUrl: restApiUrl(c, host),
        service: c.layout.patroniService,
        timeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
        ...memberClientTls(c),
    });
}

export function patroniReplicasGateScript(c: ResolvedCluster, host: ResolvedHost): string {
    return renderTemplate("patroni-replicas-gate.sh", {
        restApiUrl: restApiUrl(c, host),
        memberNames: c.hosts.patroni.map((h) => h.name).join(","),
        synchronousMode: c.patroni.synchronousMode !== false,
        maxLagBytes: c.patroni.maximumLagOnFailoverBytes,
        service: c.layout.patroniService,
        timeoutSec: GATE_TIMEOUTS_SEC.patroniReplicas,
        ...memberClientTls(c),
    });
}

/** Starts (or reloads) HAProxy and Keepalived, then enables the VIP mover's units that ask for it. */
export function proxyStartScript(c: ResolvedCluster, host: ResolvedHost, applies: AppliedFile[]): string {
    const k = vipSettings(c);
    const enableUnits = vipMoverUnits(k).flatMap((u) => (u.enable ? [{ unit: u.unit, why: u.enable }] : []));
    return renderTemplate("proxy-start.sh", {
        hostName: host.name,
        applies,
        enableUnits,
        // With unicast: the balancer list its HAProxy publishes (haproxy.cfg's), and how long a dropped
        // balancer's check takes to fail: up to one interval until it runs, `checkFall` failures, and a
        // curl of at most a second each.
        balancers: k.unicast ? balancerList(c) : null,
        balancerList: BALANCER_LIST,
        address: host.address,
        statsPort: c.haproxy.statsPort,
        checkIntervalSec: k.checkIntervalSec,
        checkFall: k.checkFall,
        drainSec: (k.checkFall + 1) * k.checkIntervalSec + 1,
    });
}

/**
 * Where each HAProxy publishes the balancers it knows (stats port, `path`), as `<tag> <address> ...`:
 * read by the others' Keepalived checks and by its own start step.
 */
const BALANCER_LIST = { path: "/vrrp-peers", tag: "pgha-balancers" } as const;

/** The balancers' addresses, as each HAProxy publishes them (BALANCER_LIST) for the others' Keepalived checks. */
function balancerList(c: ResolvedCluster): string {
    return c.hosts.haproxy.map((h) => h.address).join(" ");
}

/**
 * The front door gate: `address`:primaryPort reaches a primary, `consecutive` times a second apart.
 * By default the VIP, as long as HAProxy takes to have checked every member; a load balancer of
 * the stack's (an external front door) passes its own address and check time.
 */
export function vipGateScript(c: ResolvedCluster, external?: { address: string; consecutive: number }): string {
    return renderTemplate("vip-gate.sh", {
        vip: external?.address ?? vipSettings(c).vip,
        primaryPort: c.haproxy.primaryPort,
        superuserName: c.patroni.superuserName,
        timeoutSec: GATE_TIMEOUTS_SEC.vip,
        // Long enough for HAProxy to have checked every member (fall/rise at its check interval).
        consecutive: external?.consecutive ?? Math.max(3, Math.ceil(((c.haproxy.checkFall + c.haproxy.checkRise) * c.haproxy.checkIntervalMs) / 1000)),
        ...memberClientTls(c),
    });
}

export function rolesScript(c: ResolvedCluster): string {
    return renderTemplate("roles.sh", { ...libpqMembers(c), restApiUrls: restApiUrls(c), superuserName: c.patroni.superuserName, ...memberClientTls(c) });
}

/** A libpq multi-host list over every member (with target_session_attrs=read-write: the primary), no dependency on the front door. */
function libpqMembers(c: ResolvedCluster): { hosts: string; ports: string } {
    return { hosts: c.hosts.patroni.map((h) => h.address).join(","), ports: c.hosts.patroni.map(() => c.patroni.postgresPort).join(",") };
}
