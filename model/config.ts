/**
 * Stack configuration → validated program settings. Pure: it takes the stack's whole config map
 * as the engine holds it (`pulumi.runtime.allConfig()`: namespaced keys, objects as JSON text), so
 * the program, `npm run render` and `npm run plan` read a stack file the same way.
 */
import { ClusterConfigError, checkShape, checkSuppliedSecret, resolveValidCluster, type ValidationIssue } from "./validate";
import { planAwsCluster, resolveAwsSpec, validateAwsSpec, type AwsPlan, type AwsSpec, type ResolvedAws } from "../providers/aws/model";
import type { ResolvedCluster } from "./types";

export const CONFIG_NAMESPACE = "pulumi-patroni";

/** Secrets a user may supply instead of having them generated. */
export const SUPPLIED_SECRET_KEYS = [
    "superuserPassword",
    "replicationPassword",
    "rewindPassword",
    "adminPassword",
    "restApiPassword",
    "keepalivedPassword",
] as const;
export type SuppliedSecretKey = (typeof SUPPLIED_SECRET_KEYS)[number];

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

export interface ProgramSettings {
    provider: "existing" | "aws";
    cluster: ResolvedCluster;
    /** The cluster spec as written; for AWS with the planned hosts, front door and VIP filled in. */
    clusterSpec: Record<string, unknown>;
    ssh: SshSettings;
    /** Supplied secrets, by key; the program wraps them in `pulumi.secret` at once. */
    suppliedSecrets: Partial<Record<SuppliedSecretKey, string>>;
    /** Supplied application role passwords, by role name. */
    userPasswords: Record<string, string>;
    /** `pulumi-patroni:aws`, resolved (provider aws only). */
    aws: ResolvedAws | undefined;
    /** Subnets, addresses and the VIP planned from the AWS settings (provider aws only). */
    awsPlan: AwsPlan | undefined;
}

const RAW_TEXT_KEYS: string[] = [...SUPPLIED_SECRET_KEYS, "sshPrivateKey"];

const TOP_LEVEL_KEYS = ["provider", "cluster", "ssh", "aws", "sshPrivateKey", "userPasswords", ...SUPPLIED_SECRET_KEYS];

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
 * `defaultScope` is used when `cluster.scope` is not set (the program passes the stack name).
 */
export function parseStackConfig(all: Record<string, string>, defaultScope: string): ProgramSettings {
    const issues: ValidationIssue[] = [];
    const values: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(all)) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace !== CONFIG_NAMESPACE) continue; // other namespaces (aws:region, ...) belong to providers
        if (!TOP_LEVEL_KEYS.includes(key)) {
            // The value is not shown: an unknown key may be a misspelt secret.
            issues.push({ setting: fullKey, value: "(not shown)", rule: "is not a known setting", fix: `remove it, or use one of ${TOP_LEVEL_KEYS.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}` });
            continue;
        }
        // Secrets are taken as written: a password of digits, or in quotes, is still a string.
        values[key] = RAW_TEXT_KEYS.includes(key) ? text : parseValue(text);
    }
    const provider = values.provider ?? "existing";
    if (provider !== "existing" && provider !== "aws") {
        issues.push({ setting: `${CONFIG_NAMESPACE}:provider`, value: provider, rule: 'must be "existing" or "aws"', fix: "use existing for machines you already have (and the lab), aws to create them" });
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
    if (values.cluster === undefined) {
        issues.push({ setting: `${CONFIG_NAMESPACE}:cluster`, value: undefined, rule: "is required", fix: "describe the cluster under pulumi-patroni:cluster (see stacks/Pulumi.lab.yaml)" });
    }
    if (provider === "aws") {
        issues.push(...validateAwsSpec(values.aws, values.cluster as Record<string, unknown> | undefined, `${CONFIG_NAMESPACE}:aws`, `${CONFIG_NAMESPACE}:cluster`, defaultScope));
        const ssh = (values.ssh ?? {}) as Record<string, unknown>;
        for (const key of ["proxy", "user", "port"]) {
            if (ssh[key] !== undefined) {
                issues.push({ setting: `${CONFIG_NAMESPACE}:ssh.${key}`, value: ssh[key], rule: "is chosen by the program on AWS (root on port 22, through the bastion or public IPs)", fix: `remove it; choose the way in with ${CONFIG_NAMESPACE}:aws.ssh.access` });
            }
        }
    } else if (values.aws !== undefined) {
        issues.push({ setting: `${CONFIG_NAMESPACE}:aws`, value: "(aws settings)", rule: "is only read with provider aws", fix: `set ${CONFIG_NAMESPACE}:provider: aws, or remove ${CONFIG_NAMESPACE}:aws` });
    }
    if (issues.length > 0) throw new ClusterConfigError(issues);

    const aws = provider === "aws" ? resolveAwsSpec(values.aws as AwsSpec) : undefined;
    const awsPlan = aws ? planAwsCluster(aws, values.cluster as Parameters<typeof planAwsCluster>[1]) : undefined;
    const clusterSpec = (awsPlan ? awsPlan.clusterSpec : values.cluster) as Record<string, unknown>;
    const cluster = resolveValidCluster(clusterSpec, defaultScope, `${CONFIG_NAMESPACE}:cluster`);
    const unknownRoles = Object.keys(userPasswords).filter((r) => !cluster.users.some((u) => u.name === r));
    if (unknownRoles.length > 0) {
        throw new ClusterConfigError(unknownRoles.map((r) => ({ setting: `${CONFIG_NAMESPACE}:userPasswords.${r}`, value: "(not shown)", rule: "names no role in cluster.users", fix: "remove it or add the role to cluster.users" })));
    }
    const ssh = (values.ssh ?? {}) as Partial<SshSettings> & { proxy?: Partial<NonNullable<SshSettings["proxy"]>> };
    return {
        provider: provider as ProgramSettings["provider"],
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
        aws,
        awsPlan,
    };
}
