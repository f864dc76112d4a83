/**
 * Validation of a cluster spec before any resource exists. Pure: spec in, issues out.
 * Every issue names the setting (as written in stack config), the value received, the rule and the fix.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "crypto";
import { RunError } from "@pulumi/pulumi/errors";
import { PATRONI_FROZEN_LEADER_FIX, PGDG_POSTGRES_VERSIONS, RELEASES, availablePostgresVersions, patroniMajorVersion, patroniVersion, versionAtLeast } from "./distro";
import { inSubnet, isIpv4, isIpv4Cidr } from "./net";
import { catalogsFor, checkParameterValue, lookupParameter, unitNames, type PostgresParameter } from "./postgres-catalog";
import { checkBackup } from "./backup";
import { DEFAULT_ADVERT_INTERVAL_SEC, HOST_ROLES, resolveCluster } from "./resolve";
import type { ClusterSpec, HostRole, ResolvedCluster, VipMover } from "./types";

/** pg_hba connection types and authentication methods, as PostgreSQL's documentation lists them (20.1). */
const HBA_TYPES = ["local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"];
const HBA_METHODS = ["trust", "reject", "scram-sha-256", "md5", "password", "gss", "sspi", "ident", "peer", "ldap", "radius", "cert", "pam", "bsd", "oauth"];

/** A pg_hba address (or client CIDR) that matches every address: any /0 prefix, `all`, or a 0.0.0.0 netmask. */
export function isAnywhere(address: string): boolean {
    return address === "all" || /\/0$/.test(address) || / 0\.0\.0\.0$/.test(address);
}

export function anywhereIssue(setting: string, value: string, address: string, root: string): ValidationIssue {
    return {
        setting,
        value,
        rule: `lets PostgreSQL logins come from any address (${address})`,
        fix: `list the clients' own networks, e.g. 10.0.0.0/16; to open PostgreSQL to every address on purpose, set ${root}.allowClientsFromAnywhere: true`,
    };
}

/** A pg_hba line by field (type, database, user, address for host lines, method, options), or why it is not one. */
export function parsePgHbaLine(line: string): { type: string; database: string; user: string; address?: string; method: string; options: string[] } | string {
    // Fields are separated by blanks; a double-quoted field may hold blanks.
    const fields = line.replace(/#.*$/, "").match(/"[^"]*"|\S+/g) ?? [];
    const [type, database, user, ...rest] = fields;
    if (!type || !HBA_TYPES.includes(type)) return `the type must be one of ${HBA_TYPES.join(", ")}`;
    if (!database || !user) return "it needs a database and a user field";
    let address: string | undefined;
    if (type !== "local") {
        address = rest.shift();
        if (!address) return "a host line needs an address";
        // The older form: an IP address and a netmask in two fields.
        if (!address.includes("/") && /^\d+\.\d+\.\d+\.\d+$/.test(address) && /^\d+\.\d+\.\d+\.\d+$/.test(rest[0] ?? "")) address = `${address} ${rest.shift()}`;
    }
    const method = rest.shift();
    if (!method) return "it has no authentication method";
    if (!HBA_METHODS.includes(method)) return `unknown authentication method ${JSON.stringify(method)}`;
    return { type, database, user, ...(address ? { address } : {}), method, options: rest };
}

export interface ValidationIssue {
    /** The setting's path, e.g. `cluster.patroni.ttlSec`. */
    setting: string;
    /** The value received. */
    value: unknown;
    /** What is wrong. */
    rule: string;
    /** What to do about it. */
    fix: string;
}

export function formatIssue(issue: ValidationIssue): string {
    return `${issue.setting}: ${issue.rule} (got ${JSON.stringify(issue.value)}). Fix: ${issue.fix}`;
}

/**
 * Thrown before anything is created when the configuration is wrong; lists every issue at once.
 * A `RunError`: Pulumi prints its message alone, without the program's stack frames
 * (@pulumi/pulumi cmd/run/run.ts, the uncaught-exception handler), as a configuration error should read.
 */
export class ClusterConfigError extends RunError {
    constructor(public readonly issues: ValidationIssue[]) {
        super(
            `Invalid pulumi-patroni configuration (${issues.length} issue${issues.length === 1 ? "" : "s"}):\n` +
                issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
        );
        this.name = "ClusterConfigError";
    }
}

// ---------------------------------------------------------------------------------------------
// Shape: unknown keys (a typo must not be silently ignored) and value types.
// ---------------------------------------------------------------------------------------------

/** A schema node: scalar type, enum, `[element]` for arrays, an object of fields (`key?` = optional), or a map. */
export type Schema =
    | "string"
    | "integer"
    | "number"
    | "boolean"
    | "scalarMap"
    | { enum: readonly string[] }
    | { anyOf: readonly Schema[] }
    | readonly [Schema]
    | { readonly [key: string]: Schema };

const HOST_SCHEMA: Schema = {
    name: "string",
    address: "string",
    "tags?": { "nofailover?": "boolean", "noloadbalance?": "boolean", "nosync?": "boolean", "clonefrom?": "boolean" },
};

/** The shape of `ClusterSpec`; a test keeps it in step with the TypeScript interfaces. */
export const CLUSTER_SCHEMA: Schema = {
    "scope?": "string",
    "namespace?": "string",
    "os?": { enum: Object.keys(RELEASES) },
    "packageSource?": { enum: ["distro", "pgdg"] },
    "postgresVersion?": "integer",
    hosts: { etcd: [HOST_SCHEMA], patroni: [HOST_SCHEMA], "haproxy?": [HOST_SCHEMA], "backup?": [HOST_SCHEMA] },
    "patroni?": {
        "ttlSec?": "integer",
        "loopWaitSec?": "integer",
        "retryTimeoutSec?": "integer",
        "maximumLagOnFailoverBytes?": "integer",
        "synchronousMode?": { anyOf: ["boolean", { enum: ["quorum"] }] },
        "synchronousModeStrict?": "boolean",
        "synchronousNodeCount?": "integer",
        "failsafeMode?": "boolean",
        "primaryStartTimeoutSec?": "integer",
        "usePgRewind?": "boolean",
        "useSlots?": "boolean",
        "parameters?": "scalarMap",
        "pgHba?": ["string"],
        "restApiPort?": "integer",
        "postgresPort?": "integer",
        "watchdog?": { enum: ["off", "automatic", "required"] },
        "removedMemberData?": { enum: ["keep", "delete"] },
        "dataChecksums?": "boolean",
        "superuserName?": "string",
        "replicationUserName?": "string",
        "rewindUserName?": "string",
        "restApiUserName?": "string",
        "adminUserName?": "string",
    },
    "users?": [{ name: "string", "options?": ["string"], "databases?": ["string"] }],
    "haproxy?": {
        "primaryPort?": "integer",
        "replicaPort?": "integer",
        "statsPort?": "integer",
        "checkIntervalMs?": "integer",
        "checkFastIntervalMs?": "integer",
        "checkDownIntervalMs?": "integer",
        "checkFall?": "integer",
        "checkRise?": "integer",
        "checkTimeoutMs?": "integer",
        "connectTimeoutMs?": "integer",
        "connectRetries?": "integer",
        "clientTimeoutSec?": "integer",
        "maxConnections?": "integer",
        "serverMaxConnections?": "integer",
    },
    "frontDoor?": { enum: ["vip", "external"] },
    "keepalived?": {
        vip: "string",
        "vipPrefixLength?": "integer",
        "interface?": "string",
        "virtualRouterId?": "integer",
        "priorities?": ["integer"],
        "unicast?": "boolean",
        "advertIntervalSec?": "number",
        "checkIntervalSec?": "integer",
        "checkTimeoutSec?": "integer",
        "checkFall?": "integer",
        "checkRise?": "integer",
        "notifyMasterCommand?": "string",
        "moveVipWith?": "string",
    },
    "etcd?": {
        "clientPort?": "integer",
        "peerPort?": "integer",
        "clusterToken?": "string",
        "allowSingleNode?": "boolean",
        "heartbeatIntervalMs?": "integer",
        "electionTimeoutMs?": "integer",
    },
    "tls?": { "enabled?": "boolean", "certificateValidityDays?": "integer", "renewBeforeDays?": "integer", "caValidityDays?": "integer", "signingCa?": "string", "trustedCas?": ["string"] },
    "backup?": {
        "enabled?": "boolean",
        "repository?": {
            "kind?": { enum: ["host", "s3"] },
            "path?": "string",
            "port?": "integer",
            "s3?": { bucket: "string", region: "string", endpoint: "string", "uriStyle?": { enum: ["host", "path"] }, "keyType?": { enum: ["shared", "auto"] }, "verifyTls?": "boolean" },
        },
        "retention?": { "full?": "integer", "diff?": "integer" },
        "schedule?": { "full?": "string", "diff?": "string", "incr?": "string" },
        "archiveAsync?": "boolean",
        "spoolPath?": "string",
        "archivePushQueueMax?": "string",
        "compressType?": { enum: ["zst", "lz4", "gz", "bz2", "none"] },
        "processMax?": "integer",
        "fromStandby?": "boolean",
        "restore?": { to: "string", id: "string", "member?": "string" },
    },
    "clientCidrs?": ["string"],
    "allowClientsFromAnywhere?": "boolean",
};

function describe(schema: Schema): string {
    if (typeof schema === "string") return schema === "scalarMap" ? "a map of names to strings, numbers or booleans" : `a${schema === "integer" ? "n" : ""} ${schema}`;
    if (Array.isArray(schema)) return "a list";
    if ("enum" in schema && Array.isArray(schema.enum)) return `one of ${(schema.enum as string[]).map((e) => JSON.stringify(e)).join(", ")}`;
    if ("anyOf" in schema && Array.isArray(schema.anyOf)) return (schema.anyOf as Schema[]).map(describe).join(" or ");
    return "an object";
}

/** Checks keys and value types against a schema; unknown keys get the closest known key as the fix. */
export function checkShape(value: unknown, schema: Schema, path: string): ValidationIssue[] {
    const wrongType = (): ValidationIssue[] => [
        { setting: path, value, rule: `must be ${describe(schema)}`, fix: `write ${path} as ${describe(schema)}` },
    ];
    if (schema === "string") return typeof value === "string" ? [] : wrongType();
    if (schema === "boolean") return typeof value === "boolean" ? [] : wrongType();
    if (schema === "integer") return Number.isInteger(value) ? [] : wrongType();
    if (schema === "number") return typeof value === "number" && Number.isFinite(value) ? [] : wrongType();
    if (schema === "scalarMap") {
        if (!isPlainObject(value)) return wrongType();
        return Object.entries(value)
            .filter(([, v]) => !["string", "number", "boolean"].includes(typeof v))
            .map(([k, v]) => ({ setting: `${path}.${k}`, value: v, rule: "must be a string, number or boolean", fix: `write ${path}.${k} as a scalar` }));
    }
    if (Array.isArray(schema)) {
        if (!Array.isArray(value)) return wrongType();
        return value.flatMap((item, i) => checkShape(item, schema[0], `${path}[${i}]`));
    }
    if ("enum" in schema && Array.isArray(schema.enum)) {
        return typeof value === "string" && (schema.enum as string[]).includes(value) ? [] : wrongType();
    }
    if ("anyOf" in schema && Array.isArray(schema.anyOf)) {
        return (schema.anyOf as Schema[]).some((s) => checkShape(value, s, path).length === 0) ? [] : wrongType();
    }
    if (!isPlainObject(value)) return wrongType();
    const fields = schema as { readonly [key: string]: Schema };
    const known = new Map(Object.entries(fields).map(([k, s]) => [k.replace(/\?$/, ""), { schema: s, optional: k.endsWith("?") }]));
    const issues: ValidationIssue[] = [];
    for (const [key, v] of Object.entries(value)) {
        const field = known.get(key);
        if (!field) {
            const suggestion = closest(key, [...known.keys()]);
            issues.push({
                setting: `${path}.${key}`,
                value: v,
                rule: "is not a known setting",
                fix: suggestion ? `did you mean ${path}.${suggestion}? Known here: ${[...known.keys()].join(", ")}` : `remove it; known here: ${[...known.keys()].join(", ")}`,
            });
        } else if (v !== undefined && v !== null) {
            issues.push(...checkShape(v, field.schema, `${path}.${key}`));
        }
    }
    for (const [key, field] of known) {
        const v = (value as Record<string, unknown>)[key];
        if (!field.optional && (v === undefined || v === null)) {
            issues.push({ setting: `${path}.${key}`, value: v, rule: "is required", fix: `set ${path}.${key} (${describe(field.schema)})` });
        }
    }
    return issues;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The known key nearest to a typo, if any is near (edit distance ≤ 3 or same letters in another case). */
function closest(key: string, candidates: string[]): string | undefined {
    let best: { name: string; distance: number } | undefined;
    for (const name of candidates) {
        const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name);
        if (distance <= 3 && (!best || distance < best.distance)) best = { name, distance };
    }
    return best?.name;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
            diagonal = above;
        }
    }
    return row[b.length];
}

// ---------------------------------------------------------------------------------------------
// Semantics: each check is a named function over the resolved cluster, reporting spec paths.
// ---------------------------------------------------------------------------------------------

const ROLES = HOST_ROLES;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A PostgreSQL identifier that needs no quoting anywhere: SQL, libpq conninfo, shell, YAML. */
const SQL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Role names PostgreSQL refuses in CREATE ROLE (src/backend/commands/user.c and the role-spec keywords). */
const RESERVED_ROLE = /^(pg_.*|public|none|current_user|current_role|session_user)$/;

/** `name` made into a DNS label: the nearest name `HOST_NAME` accepts. */
export function asHostName(name: string): string {
    const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+/, "").slice(0, 63).replace(/-+$/, "");
    return label || "host";
}

/** `name` made into a plain lowercase SQL identifier, not a reserved role name. */
export function asSqlName(name: string): string {
    let ident = name.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^([0-9])/, "_$1").slice(0, 63) || "role";
    if (RESERVED_ROLE.test(ident)) ident = `app_${ident}`.slice(0, 63);
    return ident;
}

/** A role name: a plain identifier PostgreSQL lets you create; the fix suggests one. */
function checkRoleName(setting: string, name: string, what = "role"): ValidationIssue[] {
    if (!SQL_NAME.test(name)) {
        return [{ setting, value: name, rule: `must be a lowercase SQL identifier: a letter or '_', then letters, digits or '_', at most 63 characters`, fix: `name the ${what} e.g. ${JSON.stringify(asSqlName(name))}` }];
    }
    if (what === "role" && RESERVED_ROLE.test(name)) {
        return [{ setting, value: name, rule: "is a role name PostgreSQL reserves", fix: `name the role e.g. ${JSON.stringify(asSqlName(name))}` }];
    }
    return [];
}

export function checkHostNamesAndAddresses(c: ResolvedCluster, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    for (const role of ROLES) {
        c.hosts[role].forEach((h, i) => {
            if (!HOST_NAME.test(h.name)) {
                issues.push({ setting: `${root}.hosts.${role}[${i}].name`, value: h.name, rule: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters, not starting or ending with '-'", fix: `rename the host, e.g. ${JSON.stringify(asHostName(h.name))}` });
            }
            if (!isIpv4(h.address)) {
                issues.push({ setting: `${root}.hosts.${role}[${i}].address`, value: h.address, rule: "is not an IPv4 address", fix: "write the host's private address as a.b.c.d" });
            }
        });
    }
    return issues;
}

/**
 * Within a role, names and addresses are unique. Across roles a host may appear again (co-location),
 * but then with the same name and the same address.
 */
export function checkDuplicateHosts(c: ResolvedCluster, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    for (const role of ROLES) {
        for (const key of ["name", "address"] as const) {
            const seen = new Map<string, number>();
            c.hosts[role].forEach((h, i) => {
                const first = seen.get(h[key]);
                if (first !== undefined) {
                    issues.push({ setting: `${root}.hosts.${role}[${i}].${key}`, value: h[key], rule: `duplicates ${root}.hosts.${role}[${first}].${key}`, fix: `give every ${role} host its own ${key}` });
                } else seen.set(h[key], i);
            });
        }
    }
    const byName = new Map<string, { address: string; where: string }>();
    const byAddress = new Map<string, { name: string; where: string }>();
    for (const role of ROLES) {
        c.hosts[role].forEach((h, i) => {
            const where = `${root}.hosts.${role}[${i}]`;
            const sameName = byName.get(h.name);
            if (sameName && sameName.address !== h.address) {
                issues.push({ setting: `${where}.address`, value: h.address, rule: `host ${h.name} already has address ${sameName.address} at ${sameName.where}`, fix: "a host shared by two roles keeps one address; otherwise give it another name" });
            }
            const sameAddress = byAddress.get(h.address);
            if (sameAddress && sameAddress.name !== h.name) {
                issues.push({ setting: `${where}.name`, value: h.name, rule: `address ${h.address} already belongs to host ${sameAddress.name} at ${sameAddress.where}`, fix: "a host shared by two roles keeps one name; otherwise give it another address" });
            }
            if (!sameName) byName.set(h.name, { address: h.address, where });
            if (!sameAddress) byAddress.set(h.address, { name: h.name, where });
        });
    }
    return issues;
}

export function checkHostCounts(c: ResolvedCluster, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const etcd = c.hosts.etcd.length;
    if (etcd === 1 && !c.etcd.allowSingleNode) {
        issues.push({ setting: `${root}.hosts.etcd`, value: etcd, rule: "a single etcd member has no quorum to lose: any restart stops the cluster", fix: `use 3 etcd hosts, or set ${root}.etcd.allowSingleNode: true for development only` });
    } else if (etcd !== 1 && (etcd < 3 || etcd % 2 === 0)) {
        issues.push({ setting: `${root}.hosts.etcd`, value: etcd, rule: "etcd needs an odd number of members, at least 3 (an even count adds no fault tolerance)", fix: "use 3 or 5 etcd hosts" });
    }
    if (c.hosts.patroni.length === 0) {
        issues.push({ setting: `${root}.hosts.patroni`, value: 0, rule: "needs at least one PostgreSQL host", fix: "list 2 or more Patroni hosts (3 is usual)" });
    }
    if (c.frontDoor === "vip" && c.hosts.haproxy.length === 0) {
        issues.push({ setting: `${root}.hosts.haproxy`, value: 0, rule: "needs at least one HAProxy host to carry the VIP", fix: `list 2 HAProxy hosts, or set ${root}.frontDoor: external when a load balancer of your own checks Patroni` });
    }
    return issues;
}

/** `vip` needs Keepalived settings; `external` has no HAProxy hosts and no Keepalived. */
export function checkFrontDoor(spec: ClusterSpec, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    if ((spec.frontDoor ?? "vip") === "vip") {
        if (spec.keepalived === undefined || spec.keepalived === null) {
            issues.push({ setting: `${root}.keepalived`, value: undefined, rule: "is required", fix: `set ${root}.keepalived (an object) with the VIP, or set ${root}.frontDoor: external` });
        }
        return issues;
    }
    if (spec.keepalived !== undefined && spec.keepalived !== null) {
        issues.push({ setting: `${root}.keepalived`, value: spec.keepalived, rule: "has no effect with frontDoor: external (there is no Keepalived)", fix: `remove ${root}.keepalived, or set ${root}.frontDoor: vip` });
    }
    if ((spec.hosts.haproxy ?? []).length > 0) {
        issues.push({ setting: `${root}.hosts.haproxy`, value: spec.hosts.haproxy!.map((h) => h.name), rule: "has no use with frontDoor: external (the external load balancer checks Patroni itself)", fix: `remove ${root}.hosts.haproxy, or set ${root}.frontDoor: vip` });
    }
    return issues;
}

/** Patroni's own rules for its timings (docs: "Dynamic configuration settings"). */
export function checkPatroniTimings(c: ResolvedCluster, root: string): ValidationIssue[] {
    const p = c.patroni;
    const at = `${root}.patroni`;
    const issues: ValidationIssue[] = [];
    if (p.ttlSec < 20) {
        issues.push({ setting: `${at}.ttlSec`, value: p.ttlSec, rule: "must be at least 20 seconds: a shorter leader TTL turns short network hiccups into failovers", fix: `set ${at}.ttlSec to 20 or more` });
    }
    if (p.loopWaitSec < 1) {
        issues.push({ setting: `${at}.loopWaitSec`, value: p.loopWaitSec, rule: "must be at least 1 second", fix: `set ${at}.loopWaitSec to 1 or more` });
    }
    if (p.retryTimeoutSec < 3) {
        // Patroni 4's validator rejects less, and its runtime raises it to 3 (patroni/config.py).
        issues.push({ setting: `${at}.retryTimeoutSec`, value: p.retryTimeoutSec, rule: "must be at least 3 seconds (Patroni's minimum)", fix: `set ${at}.retryTimeoutSec to 3 or more` });
    }
    if (p.loopWaitSec + 2 * p.retryTimeoutSec > p.ttlSec) {
        issues.push({ setting: `${at}.ttlSec`, value: { ttlSec: p.ttlSec, loopWaitSec: p.loopWaitSec, retryTimeoutSec: p.retryTimeoutSec }, rule: `loopWaitSec + 2 × retryTimeoutSec (${p.loopWaitSec + 2 * p.retryTimeoutSec}) exceeds ttlSec (${p.ttlSec}): the primary could lose its lock while still retrying`, fix: `raise ${at}.ttlSec to at least ${p.loopWaitSec + 2 * p.retryTimeoutSec}, or lower loopWaitSec/retryTimeoutSec` });
    }
    if (p.maximumLagOnFailoverBytes < 0) {
        issues.push({ setting: `${at}.maximumLagOnFailoverBytes`, value: p.maximumLagOnFailoverBytes, rule: "must not be negative", fix: "use 0 or more bytes (default 1048576)" });
    }
    return issues;
}

export function checkSynchronousMode(c: ResolvedCluster, root: string): ValidationIssue[] {
    const p = c.patroni;
    const members = c.hosts.patroni.length;
    const issues: ValidationIssue[] = [];
    if (p.synchronousMode && members < 2) {
        issues.push({ setting: `${root}.patroni.synchronousMode`, value: true, rule: `needs at least 2 Patroni hosts, there ${members === 1 ? "is 1" : `are ${members}`}`, fix: `add Patroni hosts, or set ${root}.patroni.synchronousMode: false` });
    }
    if (p.synchronousMode && members >= 2 && (p.synchronousNodeCount < 1 || p.synchronousNodeCount > members - 1)) {
        issues.push({ setting: `${root}.patroni.synchronousNodeCount`, value: p.synchronousNodeCount, rule: `must be between 1 and the number of replicas (${members - 1})`, fix: `set ${root}.patroni.synchronousNodeCount to 1` });
    }
    if (p.synchronousMode === "quorum" && patroniMajorVersion(c.os, c.packageSource) < 4) {
        issues.push({
            setting: `${root}.patroni.synchronousMode`,
            value: "quorum",
            rule: `needs Patroni 4.0 or newer; ${c.os}'s own Patroni is ${patroniMajorVersion(c.os, c.packageSource)}.x`,
            fix: `set ${root}.patroni.synchronousMode: true, or run the cluster on debian13 (or with packageSource: pgdg)`,
        });
    }
    if (p.synchronousModeStrict && !p.synchronousMode) {
        issues.push({ setting: `${root}.patroni.synchronousModeStrict`, value: true, rule: "has no effect without synchronousMode", fix: `set ${root}.patroni.synchronousMode: true, or drop synchronousModeStrict` });
    }
    const syncCandidates = c.hosts.patroni.filter((h) => !h.tags.nosync).length;
    if (p.synchronousModeStrict && syncCandidates < 2) {
        issues.push({ setting: `${root}.hosts.patroni`, value: syncCandidates, rule: "strict synchronous mode with fewer than 2 members allowed to be sync standby stops all writes", fix: "remove nosync tags or add Patroni hosts" });
    }
    if (c.hosts.patroni.length > 0 && c.hosts.patroni.every((h) => h.tags.nofailover)) {
        issues.push({ setting: `${root}.hosts.patroni`, value: "all nofailover", rule: "no member may become primary", fix: "leave nofailover off on at least two members" });
    }
    return issues;
}

/** Parameters Patroni sets itself; a user value would be ignored or would break replication. */
export const PATRONI_MANAGED_PARAMETERS: Record<string, string> = {
    listen_addresses: "Patroni listens on each host's address: it is derived from hosts",
    port: "use patroni.postgresPort",
    cluster_name: "Patroni sets it to the scope",
    synchronous_standby_names: "Patroni manages it: use patroni.synchronousMode and synchronousNodeCount",
    primary_conninfo: "Patroni manages replication connections",
    primary_slot_name: "Patroni manages slots: use patroni.useSlots",
    data_directory: "the data directory follows the distro layout",
    hba_file: "Patroni writes pg_hba.conf: use patroni.pgHba",
    ident_file: "Patroni writes pg_ident.conf",
    config_file: "Patroni writes postgresql.conf",
};

/** The oldest TLS PostgreSQL accepts from a client with `tls.enabled` (a spec may raise it to TLSv1.3). */
export const POSTGRES_TLS_MIN_PROTOCOL = "TLSv1.2";

/** The PostgreSQL parameters `tls.enabled` sets on every member; a spec that sets them too is refused. */
export const POSTGRES_TLS_PARAMETERS = ["ssl", "ssl_cert_file", "ssl_key_file", "ssl_ca_file", "ssl_min_protocol_version"] as const;

export function checkPostgres(c: ResolvedCluster, spec: ClusterSpec, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const available = availablePostgresVersions(c.os, c.packageSource);
    if (available.length === 0) {
        issues.push({ setting: `${root}.packageSource`, value: c.packageSource, rule: `${c.os} ships neither Patroni nor etcd in its own repositories`, fix: `set ${root}.packageSource: pgdg` });
    } else if (!available.includes(c.postgresVersion)) {
        issues.push({ setting: `${root}.postgresVersion`, value: c.postgresVersion, rule: `is not available on ${c.os} from ${c.packageSource} (available: ${available.join(", ")})`, fix: c.packageSource === "distro" ? `use ${available.join(" or ")}, or set ${root}.packageSource: pgdg for ${PGDG_POSTGRES_VERSIONS.join(", ")}` : `use one of ${available.join(", ")}` });
    }
    for (const name of Object.keys(spec.patroni?.parameters ?? {})) {
        const why = PATRONI_MANAGED_PARAMETERS[name];
        if (why) {
            issues.push({ setting: `${root}.patroni.parameters.${name}`, value: spec.patroni?.parameters?.[name], rule: "is managed by Patroni", fix: `remove it: ${why}` });
        }
    }
    issues.push(...checkParameters(c.postgresVersion, spec.patroni?.parameters ?? {}, `${root}.patroni.parameters`));
    if (c.patroni.usePgRewind && ["off", "false", false, 0].includes(c.patroni.parameters.wal_log_hints as never) && !c.patroni.dataChecksums) {
        issues.push({ setting: `${root}.patroni.parameters.wal_log_hints`, value: c.patroni.parameters.wal_log_hints, rule: "pg_rewind needs wal_log_hints or data checksums", fix: "remove the override, or set patroni.usePgRewind: false" });
    }
    c.patroni.pgHba.forEach((line, i) => {
        const parsed = parsePgHbaLine(line);
        if (typeof parsed === "string") {
            issues.push({ setting: `${root}.patroni.pgHba[${i}]`, value: line, rule: `is not a pg_hba line (${parsed})`, fix: `write it as in pg_hba.conf, e.g. "${c.tls.enabled ? "hostssl" : "host"} all app 10.0.0.0/16 scram-sha-256"` });
        } else {
            if (parsed.method === "trust" || parsed.method === "password") {
                issues.push({ setting: `${root}.patroni.pgHba[${i}]`, value: line, rule: `uses ${parsed.method === "trust" ? "trust: no authentication at all" : "clear-text password authentication"}`, fix: "use scram-sha-256" });
            }
            if (parsed.address !== undefined && isAnywhere(parsed.address) && !c.allowClientsFromAnywhere) {
                issues.push(anywhereIssue(`${root}.patroni.pgHba[${i}]`, line, parsed.address, root));
            }
            // With TLS every TCP connection is encrypted: no line may admit a plain-text one.
            if (c.tls.enabled && (parsed.type === "host" || parsed.type === "hostnossl")) {
                issues.push({ setting: `${root}.patroni.pgHba[${i}]`, value: line, rule: `admits connections without TLS, and ${root}.tls.enabled encrypts every connection`, fix: `write ${JSON.stringify(line.trim().replace(/^\S+/, "hostssl"))}` });
            }
        }
    });
    c.clientCidrs.forEach((cidr, i) => {
        if (!isIpv4Cidr(cidr)) {
            issues.push({ setting: `${root}.clientCidrs[${i}]`, value: cidr, rule: "is not an IPv4 CIDR", fix: "write it as a.b.c.d/n, e.g. 10.0.0.0/16" });
        } else if (isAnywhere(cidr) && !c.allowClientsFromAnywhere) {
            issues.push(anywhereIssue(`${root}.clientCidrs[${i}]`, cidr, cidr, root));
        }
    });
    const seenUsers = new Set<string>();
    const reserved = new Set([c.patroni.superuserName, c.patroni.replicationUserName, c.patroni.rewindUserName, c.patroni.adminUserName, "postgres"]);
    for (const key of ["superuserName", "replicationUserName", "rewindUserName", "adminUserName", "restApiUserName"] as const) {
        // The REST API user is no PostgreSQL role, but it goes into Basic auth (no ':') and scripts alike.
        issues.push(...checkRoleName(`${root}.patroni.${key}`, c.patroni[key], key === "restApiUserName" ? "user" : "role"));
    }
    c.users.forEach((u, i) => {
        issues.push(...checkRoleName(`${root}.users[${i}].name`, u.name));
        if (reserved.has(u.name)) {
            issues.push({ setting: `${root}.users[${i}].name`, value: u.name, rule: "is one of the cluster's own roles", fix: `choose another role name, e.g. ${JSON.stringify(`app_${u.name}`.slice(0, 63))}` });
        }
        if (seenUsers.has(u.name)) {
            issues.push({ setting: `${root}.users[${i}].name`, value: u.name, rule: "is listed twice", fix: "list each role once" });
        }
        seenUsers.add(u.name);
        u.options.forEach((o, j) => {
            if (!/^(NO)?(SUPERUSER|CREATEDB|CREATEROLE|INHERIT|REPLICATION|BYPASSRLS)$|^CONNECTION LIMIT \d+$/i.test(o)) {
                issues.push({ setting: `${root}.users[${i}].options[${j}]`, value: o, rule: "is not a role attribute", fix: "use CREATEDB, CREATEROLE, INHERIT, BYPASSRLS, CONNECTION LIMIT n (or their NO forms)" });
            }
        });
        u.databases.forEach((d, j) => issues.push(...checkRoleName(`${root}.users[${i}].databases[${j}]`, d, "database")));
    });
    return issues;
}

/**
 * `patroni.parameters` as PostgreSQL itself would read them from postgresql.conf: known names,
 * types, units, ranges and enum values, from the version's own catalog (model/postgres-catalog.ts).
 * Names with a dot belong to extensions (`pg_stat_statements.max`): PostgreSQL accepts them.
 */
export function checkParameters(version: number, parameters: Record<string, string | number | boolean>, at: string): ValidationIssue[] {
    const { exact, catalogs } = catalogsFor(version);
    if (catalogs.length === 0) return [];
    const versions = catalogs.map((cat) => cat.version.split(/[. ]/)[0]);
    const who = exact ? `PostgreSQL ${version}` : `PostgreSQL ${versions.join(" and ")} (no catalog for ${version}: its neighbours speak for it)`;
    const refuse = exact ? "refuses" : "both refuse";
    const has = exact ? "has" : "both have";
    const issues: ValidationIssue[] = [];
    for (const [name, value] of Object.entries(parameters)) {
        if (PATRONI_MANAGED_PARAMETERS[name]) continue;
        if (name.includes(".")) {
            // An extension's parameter: PostgreSQL takes any name of dotted identifiers (valid_custom_variable_name).
            if (!/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)+$/.test(name)) {
                issues.push({ setting: `${at}.${name}`, value, rule: `is not a parameter name: an extension's parameter is identifiers joined by '.'`, fix: `name it as the extension documents, e.g. ${at}.pg_stat_statements.max` });
            }
            continue;
        }
        const known = catalogs.flatMap((cat) => lookupParameter(cat, name) ?? []);
        if (known.length === 0) {
            const names = catalogs.flatMap((cat) => cat.parameters.map((p) => p.name));
            const suggestion = closest(name.toLowerCase(), [...new Set(names)]);
            issues.push({
                setting: `${at}.${name}`,
                value,
                rule: `${who} ${has} no such parameter (unrecognized configuration parameter "${name}")`,
                fix: suggestion ? `did you mean ${at}.${suggestion}?` : `remove it, or name a parameter of PostgreSQL ${version}'s documentation (chapter "Server Configuration")`,
            });
            continue;
        }
        const refusals = known.map((p) => ({ p, refusal: checkParameterValue(p, value) }));
        if (refusals.some((r) => r.refusal === undefined)) continue;
        const { p, refusal } = refusals[0];
        issues.push({
            setting: `${at}.${name}`,
            value,
            rule: `${who} ${refuse} it: ${refusal!.message}${refusal!.hint ? ` (${refusal!.hint})` : ""}`,
            fix: parameterFix(p),
        });
    }
    return issues;
}

/** How to write a valid value for a parameter. */
function parameterFix(p: PostgresParameter): string {
    if (p.context === "internal") return `remove it: ${p.name} is fixed when PostgreSQL is built or the cluster is created`;
    const allowed = (list: string[]) => list.filter((v) => !p.refused?.[v]);
    switch (p.type) {
        case "bool":
            return `write ${allowed(["on", "off"]).join(" or ")}`;
        case "enum":
            return `use one of ${allowed(p.enum ?? []).join(", ")}`;
        case "integer":
        case "real": {
            const unit = p.unit ? ` ${p.unit}, or the same amount with a unit: ${unitNames(p.unit).join(", ")}` : "";
            return `use a${p.type === "integer" ? "n integer" : " number"} from ${p.min} to ${p.max}${unit}`;
        }
        default:
            return "write it as PostgreSQL's documentation shows";
    }
}

export function checkVip(c: ResolvedCluster, root: string): ValidationIssue[] {
    const k = c.keepalived;
    if (!k) return [];
    const at = `${root}.keepalived`;
    if (!isIpv4(k.vip)) {
        return [{ setting: `${at}.vip`, value: k.vip, rule: "is not an IPv4 address", fix: "write the VIP as a.b.c.d, a free address in the HAProxy hosts' subnet" }];
    }
    if (k.vipPrefixLength < 1 || k.vipPrefixLength > 32) {
        return [{ setting: `${at}.vipPrefixLength`, value: k.vipPrefixLength, rule: "must be between 1 and 32", fix: "use the HAProxy subnet's prefix length, e.g. 24" }];
    }
    const issues: ValidationIssue[] = [];
    for (const role of ROLES) {
        const owner = c.hosts[role].find((h) => h.address === k.vip);
        if (owner) {
            issues.push({ setting: `${at}.vip`, value: k.vip, rule: `is the address of host ${owner.name}`, fix: "choose a free address for the VIP" });
            break;
        }
    }
    const outside = c.hosts.haproxy.filter((h) => isIpv4(h.address) && !inSubnet(h.address, k.vip, k.vipPrefixLength));
    if (outside.length > 0) {
        issues.push({ setting: `${at}.vip`, value: k.vip, rule: `is outside the subnet of HAProxy host${outside.length > 1 ? "s" : ""} ${outside.map((h) => `${h.name} (${h.address})`).join(", ")} for /${k.vipPrefixLength}`, fix: "choose a VIP in the HAProxy hosts' subnet and put all HAProxy hosts in one subnet" });
    }
    return issues;
}

/** A VRRP password given (it was read until Keepalived moved to VRRPv3): it is ignored. */
export function retiredVrrpPassword(setting: string, fix: string): ValidationIssue {
    return {
        setting,
        value: "(not shown)",
        rule: "is no longer used: Keepalived speaks VRRPv3, which has no authentication (unicast adverts are taken from the other balancers' addresses only)",
        fix: `remove it: ${fix}`,
    };
}

export function checkKeepalived(c: ResolvedCluster, root: string): ValidationIssue[] {
    const k = c.keepalived;
    if (!k) return [];
    const at = `${root}.keepalived`;
    const issues: ValidationIssue[] = [];
    if (k.virtualRouterId < 1 || k.virtualRouterId > 255) {
        issues.push({ setting: `${at}.virtualRouterId`, value: k.virtualRouterId, rule: "must be between 1 and 255", fix: "choose a VRRP router id unused on this network, 1–255" });
    }
    if (k.priorities.length !== c.hosts.haproxy.length) {
        issues.push({ setting: `${at}.priorities`, value: k.priorities, rule: `needs one priority per HAProxy host (${c.hosts.haproxy.length})`, fix: "list one priority per HAProxy host, in the same order, or omit it" });
    }
    k.priorities.forEach((p, i) => {
        if (p < 1 || p > 254) {
            issues.push({ setting: `${at}.priorities[${i}]`, value: p, rule: "must be between 1 and 254", fix: "use 150, 100, ..." });
        }
        const first = k.priorities.indexOf(p);
        if (first !== i) {
            issues.push({ setting: `${at}.priorities[${i}]`, value: p, rule: `equals ${at}.priorities[${first}]: equal priorities make the VIP owner depend on address order`, fix: "give every HAProxy host a different priority" });
        }
    });
    if (!/^[a-zA-Z0-9_.@-]{1,15}$/.test(k.interface)) {
        issues.push({ setting: `${at}.interface`, value: k.interface, rule: "is not a network interface name", fix: "name the interface carrying the HAProxy hosts' addresses, e.g. eth0 or ens5" });
    }
    // VRRPv3's field is 12 bits of centiseconds (RFC 5798 5.2.7).
    const centiseconds = Math.round(k.advertIntervalSec * 100);
    if (centiseconds < 1 || centiseconds > 4095 || Math.abs(centiseconds - k.advertIntervalSec * 100) > 1e-6) {
        issues.push({ setting: `${at}.advertIntervalSec`, value: k.advertIntervalSec, rule: "must be 0.01–40.95 seconds, to the centisecond (VRRPv3)", fix: `use ${DEFAULT_ADVERT_INTERVAL_SEC}, or another interval such as 0.5 or 1` });
    }
    issues.push(...atLeastOne(at, k, ["checkIntervalSec", "checkTimeoutSec", "checkFall", "checkRise"]));
    return issues;
}

export function checkEtcd(c: ResolvedCluster, root: string): ValidationIssue[] {
    const e = c.etcd;
    const issues: ValidationIssue[] = [];
    if (e.electionTimeoutMs < 5 * e.heartbeatIntervalMs) {
        issues.push({ setting: `${root}.etcd.electionTimeoutMs`, value: e.electionTimeoutMs, rule: `must be at least 5 × heartbeatIntervalMs (${5 * e.heartbeatIntervalMs})`, fix: `raise ${root}.etcd.electionTimeoutMs to ${5 * e.heartbeatIntervalMs} or more` });
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(e.clusterToken)) {
        issues.push({ setting: `${root}.etcd.clusterToken`, value: e.clusterToken, rule: "must be 1–64 letters, digits, '.', '_' or '-'", fix: "choose a simple token, e.g. <scope>-etcd" });
    }
    return issues;
}

/** Ports in range, and no two services on one host (co-located roles included) sharing a port. */
export function checkPorts(c: ResolvedCluster, root: string): ValidationIssue[] {
    const ports: Record<HostRole, Array<[string, number]>> = {
        etcd: [[`${root}.etcd.clientPort`, c.etcd.clientPort], [`${root}.etcd.peerPort`, c.etcd.peerPort]],
        patroni: [[`${root}.patroni.postgresPort`, c.patroni.postgresPort], [`${root}.patroni.restApiPort`, c.patroni.restApiPort]],
        haproxy: [[`${root}.haproxy.primaryPort`, c.haproxy.primaryPort], [`${root}.haproxy.replicaPort`, c.haproxy.replicaPort], [`${root}.haproxy.statsPort`, c.haproxy.statsPort]],
        // pgBackRest's TLS server runs on the repository host and on every member (its range: checkBackup).
        backup: c.backup.enabled && c.backup.repository.kind === "host" ? [[`${root}.backup.repository.port`, c.backup.repository.port]] : [],
    };
    const issues: ValidationIssue[] = [];
    for (const role of ROLES) {
        for (const [setting, port] of ports[role]) {
            if (role === "backup") continue;
            if (port < 1 || port > 65535) issues.push({ setting, value: port, rule: "must be between 1 and 65535", fix: "choose a free TCP port" });
        }
    }
    // Every role's ports are checked against each other even when no host is shared: a later
    // co-location must not fail on ports, and a distinct port per service reads better in firewalls.
    const reported = new Set<string>();
    const all = ROLES.flatMap((role) => ports[role]);
    const seen = new Map<number, string>();
    for (const [setting, port] of all) {
        const other = seen.get(port);
        if (other && !reported.has(setting)) {
            issues.push({ setting, value: port, rule: `is also used by ${other}`, fix: `give ${setting} a port of its own` });
            reported.add(setting);
        } else seen.set(port, setting);
    }
    return issues;
}

/** Counts and durations that must be at least 1, each named under `at`. */
function atLeastOne<T extends object>(at: string, values: T, names: ReadonlyArray<keyof T & string>): ValidationIssue[] {
    return names.flatMap((name) => {
        const value = values[name] as unknown as number;
        return value < 1 ? [{ setting: `${at}.${name}`, value, rule: "must be at least 1", fix: `set ${at}.${name} to a positive number` }] : [];
    });
}

export function checkHaproxy(c: ResolvedCluster, root: string): ValidationIssue[] {
    return atLeastOne(`${root}.haproxy`, c.haproxy, ["checkIntervalMs", "checkFastIntervalMs", "checkDownIntervalMs", "checkFall", "checkRise", "checkTimeoutMs", "connectTimeoutMs", "connectRetries", "clientTimeoutSec", "maxConnections", "serverMaxConnections"]);
}

/** A certificate lives at least a day, is renewed before it expires, and never outlives its CA. */
export function checkTls(c: ResolvedCluster, root: string): ValidationIssue[] {
    const t = c.tls;
    const at = `${root}.tls`;
    const issues: ValidationIssue[] = [];
    if (t.certificateValidityDays < 1) issues.push({ setting: `${at}.certificateValidityDays`, value: t.certificateValidityDays, rule: "must be at least 1", fix: "use 365" });
    if (t.renewBeforeDays < 1 || t.renewBeforeDays >= t.certificateValidityDays) {
        issues.push({ setting: `${at}.renewBeforeDays`, value: t.renewBeforeDays, rule: `must be at least 1 and less than certificateValidityDays (${t.certificateValidityDays}): a certificate is renewed by a \`pulumi up\` run in that window`, fix: `use ${Math.max(1, Math.min(30, t.certificateValidityDays - 1))}` });
    }
    if (t.caValidityDays <= t.certificateValidityDays) {
        issues.push({ setting: `${at}.caValidityDays`, value: t.caValidityDays, rule: `must be more than certificateValidityDays (${t.certificateValidityDays}): no certificate may outlive its CA`, fix: `use ${Math.max(3650, t.certificateValidityDays * 2)}` });
    }
    // A CA's name names its resources in the state (`<cluster>-tls-ca-<name>`).
    for (const [setting, name] of [[`${at}.signingCa`, t.signingCa] as const, ...t.trustedCas.map((n, i) => [`${at}.trustedCas[${i}]`, n] as const)]) {
        if (!HOST_NAME.test(name)) issues.push({ setting, value: name, rule: "must be lowercase letters, digits and '-' (it names the CA's resources in the state)", fix: `use ${JSON.stringify(asHostName(name))}` });
    }
    t.trustedCas.forEach((name, i) => {
        if (name === t.signingCa) issues.push({ setting: `${at}.trustedCas[${i}]`, value: name, rule: `is ${at}.signingCa, which is always trusted`, fix: "remove it" });
        else if (t.trustedCas.indexOf(name) < i) issues.push({ setting: `${at}.trustedCas[${i}]`, value: name, rule: "is listed twice", fix: "remove one" });
    });
    if (!t.enabled) return issues;
    // With TLS PostgreSQL's TLS settings are the cluster's (pg_hba lines: checkPostgres).
    for (const name of POSTGRES_TLS_PARAMETERS) {
        const value = c.patroni.parameters[name];
        if (value === undefined || (name === "ssl_min_protocol_version" && String(value) === "TLSv1.3")) continue;
        issues.push({ setting: `${root}.patroni.parameters.${name}`, value, rule: `is set by ${at}.enabled (ssl on, the cluster's certificate and CA, ${POSTGRES_TLS_MIN_PROTOCOL} at least)`, fix: name === "ssl_min_protocol_version" ? "remove it, or use \"TLSv1.3\"" : `remove it, or set ${at}.enabled: false` });
    }
    return issues;
}

export function checkScope(c: ResolvedCluster, root: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    if (!HOST_NAME.test(c.scope)) {
        issues.push({ setting: `${root}.scope`, value: c.scope, rule: "must be lowercase letters, digits and '-' (it names the cluster in etcd and in PostgreSQL's cluster_name)", fix: `choose a scope such as ${JSON.stringify(asHostName(c.scope))}` });
    }
    if (!/^\/([A-Za-z0-9_-]+\/)*$/.test(c.namespace)) {
        issues.push({ setting: `${root}.namespace`, value: c.namespace, rule: "must be an absolute key prefix ending in '/'", fix: "use \"/service/\"" });
    }
    return issues;
}

/** `keepalived.moveVipWith` is `none` or names one of the movers the cluster was given (a provider's). */
export function checkVipMover(spec: ClusterSpec, root: string, vipMovers: readonly VipMover[]): ValidationIssue[] {
    const name = spec.keepalived?.moveVipWith;
    const known = ["none", ...vipMovers.map((m) => m.name)];
    if (name === undefined || known.includes(name)) return [];
    return [
        {
            setting: `${root}.keepalived.moveVipWith`,
            value: name,
            rule: `names no VIP mover the cluster was given (known: ${known.map((k) => JSON.stringify(k)).join(", ")})`,
            fix: "use one of those; a provider's mover can be named once the cluster is given it (PostgresHaClusterArgs.vipMovers)",
        },
    ];
}

/**
 * Run every check. Shape problems stop the semantic checks (they would only repeat them).
 * `vipMovers`: the providers' movers `keepalived.moveVipWith` may name.
 */
export function validateCluster(spec: unknown, defaultScope: string, root = "cluster", vipMovers: readonly VipMover[] = []): ValidationIssue[] {
    const shape = checkShape(spec, CLUSTER_SCHEMA, root);
    if (shape.length > 0) return shape;
    const typed = spec as ClusterSpec;
    const beforeResolving = [...checkFrontDoor(typed, root), ...checkVipMover(typed, root, vipMovers)];
    if (beforeResolving.length > 0) return beforeResolving;
    const c = resolveCluster(typed, defaultScope, vipMovers);
    return [
        ...checkScope(c, root),
        ...checkHostNamesAndAddresses(c, root),
        ...checkDuplicateHosts(c, root),
        ...checkHostCounts(c, root),
        ...checkPatroniTimings(c, root),
        ...checkSynchronousMode(c, root),
        ...checkPostgres(c, typed, root),
        ...checkVip(c, root),
        ...checkKeepalived(c, root),
        ...checkEtcd(c, root),
        ...checkPorts(c, root),
        ...checkHaproxy(c, root),
        ...checkTls(c, root),
        ...checkBackup(c, typed, root),
    ];
}

/** Validate and resolve in one step; throws `ClusterConfigError` listing every issue. */
/**
 * What a valid configuration still risks, said before anything is created (the program logs each
 * as a warning): each names the setting, the value, the risk and the fix, as an issue does.
 */
export function clusterWarnings(c: ResolvedCluster, root = "cluster"): ValidationIssue[] {
    const warnings: ValidationIssue[] = [];
    const patroni = patroniVersion(c.os, c.packageSource);
    if (c.patroni.watchdog !== "required" && !versionAtLeast(patroni, PATRONI_FROZEN_LEADER_FIX)) {
        warnings.push({
            setting: `${root}.patroni.watchdog`,
            value: c.patroni.watchdog,
            rule:
                `${c.os}'s Patroni (${patroni}) predates ${PATRONI_FROZEN_LEADER_FIX}: a primary whose Patroni is frozen (SIGSTOP, a stalled VM) for longer than ` +
                `ttlSec takes the leader key back when it resumes, and acknowledged writes of the member promoted meanwhile are lost; only a required watchdog fences it first`,
            fix: `set ${root}.patroni.watchdog: required on hosts that can load softdog (the default), or install Patroni ${PATRONI_FROZEN_LEADER_FIX} or newer (os: debian13, or packageSource: pgdg)`,
        });
    }
    return warnings;
}

export function resolveValidCluster(spec: unknown, defaultScope: string, root = "cluster", vipMovers: readonly VipMover[] = []): ResolvedCluster {
    const issues = validateCluster(spec, defaultScope, root, vipMovers);
    if (issues.length > 0) throw new ClusterConfigError(issues);
    return resolveCluster(spec as ClusterSpec, defaultScope, vipMovers);
}

/** A user-supplied secret must not be empty (an empty password would lock members out, or let anyone in). */
export function checkSuppliedSecret(setting: string, value: string | undefined): ValidationIssue[] {
    if (value === undefined) return [];
    // A stack setting is set with the CLI; a library argument (args.…) in the program.
    const set = setting.startsWith("args.") ? "pass a non-empty value" : `set it with \`pulumi config set --secret ${setting} <value>\``;
    return value.trim() === "" ? [{ setting, value: "(empty)", rule: "is empty", fix: `${set}, or leave it out to have one generated` }] : [];
}

/** The PEM certificates in a text, in order, each ending in a newline. */
export function pemCertificates(text: string): string[] {
    return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => `${p}\n`);
}

/**
 * A CA the user supplies (`setting`: where it was given), as far as its text is known: a CA
 * certificate (and its chain), the private key that matches it, and — when it signs — valid long
 * enough for a host certificate issued now. Neither the key nor the certificate is shown.
 */
export function checkSuppliedCa(setting: string, name: string, ca: { certPem?: string; privateKeyPem?: string }, c: ResolvedCluster, now = new Date()): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const pems = pemCertificates(ca.certPem ?? "");
    let cert: X509Certificate | undefined;
    try {
        if (pems.length === 0) throw new Error("no PEM certificate");
        const all = pems.map((p) => new X509Certificate(p));
        cert = all[0];
        if (!cert.ca) issues.push({ setting: `${setting}.certPem`, value: cert.subject, rule: "is not a CA certificate (its basic constraints say CA:FALSE)", fix: "give the certificate of the CA that is to sign the hosts' certificates" });
        all.slice(1).forEach((next, i) => {
            if (!all[i].checkIssued(next)) issues.push({ setting: `${setting}.certPem`, value: all[i].subject, rule: `is followed by ${next.subject}, which did not issue it`, fix: "give the CA's certificate first, then each issuer up to the root, in that order" });
        });
    } catch (e) {
        issues.push({ setting: `${setting}.certPem`, value: "(not shown)", rule: `is not a PEM certificate (${(e as Error).message})`, fix: "give the CA's certificate as PEM text, -----BEGIN CERTIFICATE----- …" });
    }
    let key: KeyObject | undefined;
    try {
        key = createPrivateKey(ca.privateKeyPem ?? "");
    } catch (e) {
        issues.push({ setting: `${setting}.privateKeyPem`, value: "(not shown)", rule: `is not a PEM private key (${(e as Error).message})`, fix: "give the CA's unencrypted private key as PEM text (PKCS#8, PKCS#1 or SEC1)" });
    }
    if (cert && key && !cert.checkPrivateKey(key)) {
        issues.push({ setting: `${setting}.privateKeyPem`, value: "(not shown)", rule: `is not the key of the CA certificate ${JSON.stringify(cert.subject)}`, fix: "give the private key that belongs to certPem" });
    }
    if (cert && name === c.tls.signingCa) {
        const needed = new Date(now.getTime() + c.tls.certificateValidityDays * 86_400_000);
        if (new Date(cert.validTo) < needed) {
            issues.push({ setting: `${setting}.certPem`, value: `valid to ${cert.validTo}`, rule: `expires before a host certificate issued now would (tls.certificateValidityDays: ${c.tls.certificateValidityDays}), and it is tls.signingCa`, fix: "give a CA valid longer, or lower tls.certificateValidityDays" });
        } else if (new Date(cert.validFrom) > now) {
            issues.push({ setting: `${setting}.certPem`, value: `valid from ${cert.validFrom}`, rule: "is not valid yet", fix: "give a CA that is valid now" });
        }
    }
    return issues;
}

/** The supplied CAs' names: each must be one the cluster trusts (and TLS on). */
export function checkSuppliedCaNames(setting: string, names: string[], c: ResolvedCluster): ValidationIssue[] {
    const trusted = [c.tls.signingCa, ...c.tls.trustedCas];
    return names.flatMap((name) =>
        !c.tls.enabled
            ? [{ setting: `${setting}.${name}`, value: "(not shown)", rule: "is a CA, and tls.enabled is false", fix: "remove it, or turn TLS on (for a new cluster)" }]
            : trusted.includes(name)
              ? []
              : [{ setting: `${setting}.${name}`, value: "(not shown)", rule: `names no CA in tls.signingCa or tls.trustedCas (${trusted.map((n) => JSON.stringify(n)).join(", ")})`, fix: `name it in tls.signingCa or tls.trustedCas, or remove it` }],
    );
}
