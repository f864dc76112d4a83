/**
 * The names AWS limits, in one place: AwsHosts names its resources from here, and
 * `validateAwsNames` checks every one of them against its limit before anything is created.
 * No Pulumi imports.
 */
import type { ValidationIssue } from "../../model/validate";
import { securityGroupRoles, type SecurityGroupRole } from "./security";
import type { ResolvedAws } from "./spec";

/**
 * Longest name AWS accepts, per resource type:
 * - load balancer and target group: 32 (CreateLoadBalancer / CreateTargetGroup `Name`, Elastic
 *   Load Balancing API reference; pulumi-aws sets the target group's autoname maximum to 32,
 *   pulumi/pulumi-aws#1932, and METR/hawk#542 hit it at preview);
 * - IAM role: 64 (CreateRole `RoleName`); inline role policy and instance profile: 128
 *   (PutRolePolicy `PolicyName`, CreateInstanceProfile `InstanceProfileName`);
 * - security group and key pair: 255 (CreateSecurityGroup `GroupName`, ImportKeyPair `KeyName`).
 */
export const AWS_NAME_LIMITS = {
    "aws:lb/loadBalancer:LoadBalancer": 32,
    "aws:lb/targetGroup:TargetGroup": 32,
    "aws:iam/role:Role": 64,
    "aws:iam/rolePolicy:RolePolicy": 128,
    "aws:iam/instanceProfile:InstanceProfile": 128,
    "aws:ec2/securityGroup:SecurityGroup": 255,
    "aws:ec2/keyPair:KeyPair": 255,
} as const;

export type AwsNamedType = keyof typeof AWS_NAME_LIMITS;

/** Pulumi's autonaming appends "-" and 7 random characters to the resource's logical name. */
export const AUTONAME_SUFFIX_LENGTH = 8;

/** A resource whose name AWS limits: its Pulumi (logical) name and, when set, its explicit AWS name. */
export interface AwsLimitedName {
    type: AwsNamedType;
    /** The Pulumi resource name (`<component>-<role>`). */
    logical: string;
    /** The AWS name the program sets; without it Pulumi autonames from `logical`. */
    explicit?: string;
}

/** The name of the AwsHosts component of a cluster: the prefix of every child. */
export function awsHostsName(scope: string): string {
    return `${scope}-aws`;
}

/**
 * The limited names of a cluster's AWS resources (only those its settings build), children of the
 * AwsHosts component `component` (the program's is `awsHostsName(scope)`). The load
 * balancer and its target groups get short explicit names (the scope and the pool): a
 * 32-character limit leaves no room for the component prefix plus Pulumi's random suffix.
 */
export function awsLimitedNames(scope: string, a: Pick<ResolvedAws, "frontDoor" | "ssh">, component = awsHostsName(scope), backups = false) {
    const nlb = a.frontDoor === "nlb";
    const at = (type: AwsNamedType, role: string, explicit?: string): AwsLimitedName => ({ type, logical: `${component}-${role}`, ...(explicit ? { explicit } : {}) });
    return {
        nlb: nlb ? at("aws:lb/loadBalancer:LoadBalancer", "nlb", `${scope}-nlb`) : undefined,
        targetGroups: nlb
            ? {
                  primary: at("aws:lb/targetGroup:TargetGroup", "tg-primary", `${scope}-primary`),
                  replicas: at("aws:lb/targetGroup:TargetGroup", "tg-replicas", `${scope}-replicas`),
              }
            : undefined,
        securityGroups: Object.fromEntries(securityGroupRoles(a).map((g) => [g, at("aws:ec2/securityGroup:SecurityGroup", `sg-${g}`)])) as Partial<Record<SecurityGroupRole, AwsLimitedName>>,
        keyPair: at("aws:ec2/keyPair:KeyPair", "key"),
        haproxyRole: nlb ? undefined : at("aws:iam/role:Role", "haproxy-role"),
        haproxyPolicy: nlb ? undefined : at("aws:iam/rolePolicy:RolePolicy", "haproxy-move-vip"),
        haproxyProfile: nlb ? undefined : at("aws:iam/instanceProfile:InstanceProfile", "haproxy-profile"),
        // With backups: the role the Patroni hosts reach the backup bucket with.
        patroniRole: backups ? at("aws:iam/role:Role", "patroni-role") : undefined,
        patroniPolicy: backups ? at("aws:iam/rolePolicy:RolePolicy", "patroni-backup-bucket") : undefined,
        patroniProfile: backups ? at("aws:iam/instanceProfile:InstanceProfile", "patroni-profile") : undefined,
    };
}

/** How long the name AWS receives will be. */
export function awsNameLength(n: AwsLimitedName): number {
    return n.explicit !== undefined ? n.explicit.length : n.logical.length + AUTONAME_SUFFIX_LENGTH;
}

function flatten(names: ReturnType<typeof awsLimitedNames>): AwsLimitedName[] {
    return [names.nlb, ...Object.values(names.targetGroups ?? {}), ...Object.values(names.securityGroups), names.keyPair, names.haproxyRole, names.haproxyPolicy, names.haproxyProfile, names.patroniRole, names.patroniPolicy, names.patroniProfile].filter(
        (n): n is AwsLimitedName => n !== undefined,
    );
}

/** The longest scope whose every name fits (scope length and name length grow one for one). */
export function longestAwsScope(scope: string, a: Pick<ResolvedAws, "frontDoor" | "ssh">, backups = false): number {
    return Math.min(...flatten(awsLimitedNames(scope, a, awsHostsName(scope), backups)).map((n) => AWS_NAME_LIMITS[n.type] - (awsNameLength(n) - scope.length)));
}

/**
 * Every limited name checked against its limit (and the load balancer's "internal-" rule). The
 * scope is the only part a user chooses, so the issue names it, and the fix is a shorter scope
 * that fits every name.
 */
export function validateAwsNames(scope: string, a: Pick<ResolvedAws, "frontDoor" | "ssh">, setting: string, backups = false): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const names = awsLimitedNames(scope, a, awsHostsName(scope), backups);
    const tooLong = flatten(names).filter((n) => awsNameLength(n) > AWS_NAME_LIMITS[n.type]);
    if (tooLong.length > 0) {
        const max = longestAwsScope(scope, a, backups);
        const shown = tooLong.map((n) => `${n.explicit ?? `${n.logical}-xxxxxxx`} (${awsNameLength(n)} > ${AWS_NAME_LIMITS[n.type]}, ${n.type})`);
        issues.push({
            setting,
            value: scope,
            rule: `is too long for the AWS names built from it: ${shown.join("; ")}`,
            fix: `use a scope of at most ${max} characters, e.g. "${scope.slice(0, max).replace(/-+$/, "")}"`,
        });
    }
    if (names.nlb?.explicit?.startsWith("internal-")) {
        issues.push({ setting, value: scope, rule: `makes the load balancer name ${names.nlb.explicit}, and AWS refuses names that begin with "internal-"`, fix: `use a scope that does not begin with "internal-", e.g. "${scope.slice("internal-".length).replace(/^-+/, "") || "orders"}"` });
    }
    return issues;
}

/** The tags AwsHosts sets itself (after the user's, so a user tag of the same key would be lost). */
export const PROGRAM_TAG_KEYS = { name: "Name", cluster: "pulumi-patroni:cluster", role: "pulumi-patroni:role", tier: "pulumi-patroni:tier" } as const;

/**
 * EC2 tag restrictions ("Tag your Amazon EC2 resources", Tag restrictions): at most 50 tags per
 * resource, keys of 1–128 characters, values of up to 256, the `aws:` prefix reserved. The program
 * adds up to three of its own to a resource (Name, cluster, and role or tier).
 */
export const EC2_TAG_LIMITS = { perResource: 50, keyLength: 128, valueLength: 256, programTags: 3 } as const;

/** The user's `tags`, checked against EC2's restrictions and the program's own keys. */
export function validateAwsTags(tags: Record<string, string>, setting: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const keys = Object.keys(tags);
    const most = EC2_TAG_LIMITS.perResource - EC2_TAG_LIMITS.programTags;
    if (keys.length > most) issues.push({ setting, value: keys.length, rule: `has more tags than EC2 allows beside the program's ${EC2_TAG_LIMITS.programTags} (${EC2_TAG_LIMITS.perResource} per resource)`, fix: `keep at most ${most} tags` });
    const own = Object.values(PROGRAM_TAG_KEYS) as string[];
    for (const key of keys) {
        const value = tags[key];
        if (key.length > EC2_TAG_LIMITS.keyLength) issues.push({ setting: `${setting}.${key}`, value: key, rule: `is a tag key longer than ${EC2_TAG_LIMITS.keyLength} characters`, fix: `shorten the key to at most ${EC2_TAG_LIMITS.keyLength} characters` });
        if (key.toLowerCase().startsWith("aws:")) issues.push({ setting: `${setting}.${key}`, value: key, rule: 'uses the "aws:" prefix, which AWS reserves', fix: "choose a key without the aws: prefix, e.g. team" });
        if (own.includes(key) || key.startsWith("pulumi-patroni:")) issues.push({ setting: `${setting}.${key}`, value: key, rule: "is a tag the program sets itself", fix: "remove it, or choose another key, e.g. team" });
        if (value.length > EC2_TAG_LIMITS.valueLength) issues.push({ setting: `${setting}.${key}`, value: `${value.slice(0, 24)}…`, rule: `is a tag value longer than ${EC2_TAG_LIMITS.valueLength} characters`, fix: `shorten it to at most ${EC2_TAG_LIMITS.valueLength} characters` });
    }
    return issues;
}
