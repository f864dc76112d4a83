/**
 * Stack configuration → validated program settings. Pure: it takes the stack's whole config map
 * as the engine holds it (`pulumi.runtime.allConfig()`: namespaced keys, objects as JSON text), so
 * the program, `npm run render` and `npm run plan` read a stack file the same way. The providers
 * that create machines are handed in (`StackProvider`); none is imported here.
 */
import { backupKeyIssues } from "./backup";
import { ClusterConfigError, checkShape, checkSuppliedCa, checkSuppliedCaNames, checkSuppliedSecret, resolveValidCluster, retiredVrrpPassword, type ValidationIssue } from "./validate";
import type { DataVolumeInfo } from "../render/bundle";
import type { CertificateAuthorityArgs, ClusterSpec, ResolvedCluster, VipMover } from "./types";

export const CONFIG_NAMESPACE = "pulumi-patroni";

/** Secrets a user may supply instead of having them generated. */
export const SUPPLIED_SECRET_KEYS = [
    "superuserPassword",
    "replicationPassword",
    "rewindPassword",
    "adminPassword",
    "restApiPassword",
    // The object store's access key pair (backup.repository.s3.keyType: shared): never generated.
    "backupS3AccessKeyId",
    "backupS3SecretAccessKey",
] as const;
export type SuppliedSecretKey = (typeof SUPPLIED_SECRET_KEYS)[number];

/** Secrets the program no longer reads: accepted, with a warning to remove them. */
export const RETIRED_SECRET_KEYS = ["keepalivedPassword"] as const;

/** How the program reaches hosts that already exist. */
export interface SshSettings {
    /** Login user (root, or a user with passwordless sudo). @default "root" */
    user: string;
    /** SSH port. @default 22 */
    port: number;
    /** Path of the private key on the machine running Pulumi. Either this or the `sshPrivateKey` secret. */
    privateKeyFile?: string;
    /** A bastion to hop through. @default - connect directly */
    proxy?: { host: string; user: string; port: number; privateKeyFile?: string };
}

/**
 * A provider the program creates the machines with (`pulumi-patroni:provider: <name>`), its own
 * settings under `pulumi-patroni:<name>`: it checks them, and plans the cluster's hosts, front door
 * and VIP from them before anything exists.
 */
export interface StackProvider {
    /** Its `pulumi-patroni:provider` value, and the key of its settings. */
    name: string;
    /**
     * Every problem with its settings, with the cluster spec written for it (what it plans itself is
     * refused there) and with the SSH settings (what it chooses itself); `at` names where each is set.
     */
    validate(input: {
        settings: unknown;
        cluster: Record<string, unknown> | undefined;
        ssh: Record<string, unknown>;
        defaultScope: string;
        at: { settings: string; cluster: string; ssh: string };
    }): ValidationIssue[];
    /** Its settings resolved and planned (after `validate` found nothing), and the complete cluster spec planned with them. */
    plan(settings: unknown, cluster: Record<string, unknown>): { machines: unknown; clusterSpec: ClusterSpec };
    /** The VIP movers its machines need; a stack on existing machines may name them too. */
    vipMovers: readonly VipMover[];
    /**
     * Its machines' data volumes by host name, each with a placeholder id: what `npm run render`
     * shows before they exist.
     * @default - no data volumes
     */
    offlineDataVolumes?(cluster: ResolvedCluster): Record<string, DataVolumeInfo>;
}

export interface ProgramSettings {
    /** `existing`, or the name of the provider that creates the machines. */
    provider: string;
    cluster: ResolvedCluster;
    /** The cluster spec as written; with a provider, with the planned hosts, front door and VIP filled in. */
    clusterSpec: Record<string, unknown>;
    ssh: SshSettings;
    /** Supplied secrets, by key; the program wraps them in `pulumi.secret` at once. */
    suppliedSecrets: Partial<Record<SuppliedSecretKey, string>>;
    /** Supplied application role passwords, by role name. */
    userPasswords: Record<string, string>;
    /** CAs of the user's own (`tls.signingCa`/`tls.trustedCas` name them), by name; the key is wrapped in `pulumi.secret` at once. */
    certificateAuthorities: Record<string, CertificateAuthorityArgs>;
    /** With a provider: it, and what it planned from its settings (`StackProvider.plan`'s `machines`). */
    machines: { provider: StackProvider; plan: unknown } | undefined;
    /** The VIP movers `cluster.keepalived.moveVipWith` may name: every provider's. */
    vipMovers: VipMover[];
    /** What is accepted but should change (a retired setting), for the program to say before it creates anything. */
    warnings: ValidationIssue[];
}

const RAW_TEXT_KEYS: string[] = [...SUPPLIED_SECRET_KEYS, ...RETIRED_SECRET_KEYS, "sshPrivateKey"];

/** The top-level keys: the program's own, and each provider's settings. */
function topLevelKeys(providers: readonly StackProvider[]): string[] {
    return ["provider", "cluster", "ssh", ...providers.map((p) => p.name), "sshPrivateKey", "userPasswords", "certificateAuthorities", ...SUPPLIED_SECRET_KEYS, ...RETIRED_SECRET_KEYS];
}

/** `"a" or "b"`, or `one of "a", "b", "c"`. */
function oneOf(values: string[]): string {
    const quoted = values.map((v) => JSON.stringify(v));
    return quoted.length <= 2 ? quoted.join(" or ") : `one of ${quoted.join(", ")}`;
}

const SSH_SCHEMA = {
    "user?": "string",
    "port?": "integer",
    "privateKeyFile?": "string",
    "proxy?": { host: "string", "user?": "string", "port?": "integer", "privateKeyFile?": "string" },
} as const;

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/**
 * Reads, checks and resolves the stack config. Throws `ClusterConfigError` naming every bad or
 * unknown setting before the program creates anything.
 * `defaultScope` is used when `cluster.scope` is not set (the program passes the stack name);
 * `providers`, those `pulumi-patroni:provider` may name (the program's `STACK_PROVIDERS`).
 */
export function parseStackConfig(all: Record<string, string>, defaultScope: string, providers: readonly StackProvider[]): ProgramSettings {
    const known = topLevelKeys(providers);
    const issues: ValidationIssue[] = [];
    const values: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(all)) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace !== CONFIG_NAMESPACE) continue; // other namespaces (a cloud's region, ...) belong to providers
        if (!known.includes(key)) {
            // The value is not shown: an unknown key may be a misspelt secret.
            issues.push({ setting: fullKey, value: "(not shown)", rule: "is not a known setting", fix: `remove it, or use one of ${known.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}` });
            continue;
        }
        // Secrets are taken as written: a password of digits, or in quotes, is still a string.
        values[key] = RAW_TEXT_KEYS.includes(key) ? text : parseValue(text);
    }
    const provider = values.provider ?? "existing";
    const chosen = providers.find((p) => p.name === provider);
    if (provider !== "existing" && !chosen) {
        const creators = providers.map((p) => p.name);
        issues.push({
            setting: `${CONFIG_NAMESPACE}:provider`,
            value: provider,
            rule: `must be ${oneOf(["existing", ...creators])}`,
            fix: `use existing for machines you already have (and the lab)${creators.length ? `, or ${creators.join(" or ")} to create them` : ""}`,
        });
    }
    issues.push(...checkShape(values.ssh ?? {}, SSH_SCHEMA, `${CONFIG_NAMESPACE}:ssh`));
    for (const key of SUPPLIED_SECRET_KEYS) {
        issues.push(...checkSuppliedSecret(`${CONFIG_NAMESPACE}:${key}`, values[key] as string | undefined));
    }
    const userPasswords = (values.userPasswords ?? {}) as Record<string, unknown>;
    for (const [role, v] of Object.entries(userPasswords)) {
        if (typeof v !== "string") {
            issues.push({ setting: `${CONFIG_NAMESPACE}:userPasswords.${role}`, value: "(not shown)", rule: "must be a string", fix: "supply each role's password as a string" });
        } else issues.push(...checkSuppliedSecret(`${CONFIG_NAMESPACE}:userPasswords.${role}`, v));
    }
    const cas = (values.certificateAuthorities ?? {}) as Record<string, unknown>;
    const CA_SCHEMA = { certPem: "string", privateKeyPem: "string" } as const;
    for (const [name, ca] of Object.entries(cas)) {
        // Shape only, and nothing of the value shown: the key is a secret.
        issues.push(...checkShape(ca, CA_SCHEMA, `${CONFIG_NAMESPACE}:certificateAuthorities.${name}`).map((i) => ({ ...i, value: "(not shown)" })));
    }
    if (values.cluster === undefined) {
        issues.push({ setting: `${CONFIG_NAMESPACE}:cluster`, value: undefined, rule: "is required", fix: "describe the cluster under pulumi-patroni:cluster (see stacks/Pulumi.lab.yaml)" });
    }
    if (chosen) {
        issues.push(
            ...chosen.validate({
                settings: values[chosen.name],
                cluster: values.cluster as Record<string, unknown> | undefined,
                ssh: (values.ssh ?? {}) as Record<string, unknown>,
                defaultScope,
                at: { settings: `${CONFIG_NAMESPACE}:${chosen.name}`, cluster: `${CONFIG_NAMESPACE}:cluster`, ssh: `${CONFIG_NAMESPACE}:ssh` },
            }),
        );
    }
    for (const other of providers.filter((p) => p !== chosen && values[p.name] !== undefined)) {
        const key = `${CONFIG_NAMESPACE}:${other.name}`;
        issues.push({ setting: key, value: `(${other.name} settings)`, rule: `is only read with provider ${other.name}`, fix: `set ${CONFIG_NAMESPACE}:provider: ${other.name}, or remove ${key}` });
    }
    if (issues.length > 0) throw new ClusterConfigError(issues);

    const planned = chosen?.plan(values[chosen.name], values.cluster as Record<string, unknown>);
    const clusterSpec = (planned ? planned.clusterSpec : values.cluster) as Record<string, unknown>;
    const vipMovers = providers.flatMap((p) => p.vipMovers);
    const cluster = resolveValidCluster(clusterSpec, defaultScope, `${CONFIG_NAMESPACE}:cluster`, vipMovers);
    const unknownRoles = Object.keys(userPasswords).filter((r) => !cluster.users.some((u) => u.name === r));
    if (unknownRoles.length > 0) {
        throw new ClusterConfigError(unknownRoles.map((r) => ({ setting: `${CONFIG_NAMESPACE}:userPasswords.${r}`, value: "(not shown)", rule: "names no role in cluster.users", fix: "remove it or add the role to cluster.users" })));
    }
    const keyIssues = backupKeyIssues(cluster, (key) => values[key] !== undefined, (key) => `${CONFIG_NAMESPACE}:${key}`, (key) => `pulumi config set --secret ${CONFIG_NAMESPACE}:${key} <value>`);
    if (keyIssues.length > 0) throw new ClusterConfigError(keyIssues);
    const suppliedCas = cas as Record<string, CertificateAuthorityArgs>;
    const caIssues = [
        ...checkSuppliedCaNames(`${CONFIG_NAMESPACE}:certificateAuthorities`, Object.keys(suppliedCas), cluster),
        ...Object.entries(suppliedCas).flatMap(([name, ca]) => (cluster.tls.enabled ? checkSuppliedCa(`${CONFIG_NAMESPACE}:certificateAuthorities.${name}`, name, ca, cluster) : [])),
    ];
    if (caIssues.length > 0) throw new ClusterConfigError(caIssues);
    const ssh = (values.ssh ?? {}) as Partial<SshSettings> & { proxy?: Partial<NonNullable<SshSettings["proxy"]>> };
    return {
        provider: provider as string,
        cluster,
        clusterSpec,
        ssh: {
            user: ssh.user ?? "root",
            port: ssh.port ?? 22,
            privateKeyFile: ssh.privateKeyFile,
            proxy: ssh.proxy && { host: ssh.proxy.host!, user: ssh.proxy.user ?? ssh.user ?? "root", port: ssh.proxy.port ?? 22, privateKeyFile: ssh.proxy.privateKeyFile },
        },
        suppliedSecrets: Object.fromEntries(SUPPLIED_SECRET_KEYS.filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string])),
        userPasswords: userPasswords as Record<string, string>,
        certificateAuthorities: suppliedCas,
        machines: chosen && planned && { provider: chosen, plan: planned.machines },
        vipMovers,
        warnings: RETIRED_SECRET_KEYS.filter((k) => values[k] !== undefined).map((k) => retiredVrrpPassword(`${CONFIG_NAMESPACE}:${k}`, `pulumi config rm ${CONFIG_NAMESPACE}:${k}`)),
    };
}
