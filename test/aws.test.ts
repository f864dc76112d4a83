// AWS: the address planner (pure), validation of `pulumi-patroni:aws`, and the real program run
// for the dev, staging and prod stacks under plan mode: every security-group rule, instances per
// zone, IMDSv2, encrypted gp3 volumes and their mount steps, tags, the IAM policy, bastion vs public
// SSH, Keepalived in unicast mode with the AWS notify script, and the NLB front door.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import {
    AUTONAME_SUFFIX_LENGTH,
    AWS_IMAGES,
    AWS_NAME_LIMITS,
    awsStackSettings,
    NLB_GATE_CONSECUTIVE,
    NLB_IDLE_TIMEOUT_SEC,
    carveSubnets,
    moveVipPolicy,
    planAwsCluster,
    resolveAwsSpec,
    validateAwsSpec,
    type AwsSpec,
} from "../providers/aws/model";
import { parseStackConfig } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import { ClusterConfigError, formatIssue, type ValidationIssue } from "../model/validate";
import { loadStackConfig, runProgram, stepReports, type RecordedResource, type RunResult } from "../tools/engine";
import { readStackFile, readStackSettings } from "../tools/render";

const REPO_ROOT = path.resolve(__dirname, "..");
const PROGRAM = path.join(REPO_ROOT, "index.ts");

// ---------------------------------------------------------------------------------------------
// The planner
// ---------------------------------------------------------------------------------------------

const baseAws: AwsSpec = { ssh: { keyName: "k" }, adminCidrs: ["203.0.113.0/24"], frontDoor: "vip" };

describe("planAwsCluster", () => {
    it("carves a created VPC into three private subnets and a public one", () => {
        expect(carveSubnets("10.40.0.0/16")).toEqual({ private: ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"], public: "10.40.192.0/18" });
        expect(carveSubnets("10.9.8.0/24")).toEqual({ private: ["10.9.8.0/26", "10.9.8.64/26", "10.9.8.128/26"], public: "10.9.8.192/26" });
    });

    it("puts etcd and Patroni member i in zone i, the HAProxy pair and the VIP in zone 0, the bastion in the public subnet", () => {
        const plan = planAwsCluster(resolveAwsSpec(baseAws), {});
        expect(plan.hosts.map((h) => [h.name, h.address, h.subnet])).toEqual([
            ["etcd1", "10.40.0.10", 0],
            ["etcd2", "10.40.64.10", 1],
            ["etcd3", "10.40.128.10", 2],
            ["pg1", "10.40.0.20", 0],
            ["pg2", "10.40.64.20", 1],
            ["pg3", "10.40.128.20", 2],
            ["lb1", "10.40.0.30", 0],
            ["lb2", "10.40.0.31", 0],
        ]);
        expect(plan.vip).toBe("10.40.0.50");
        expect(plan.bastionAddress).toBe("10.40.192.10");
        expect(plan.clusterSpec.keepalived).toEqual({ vip: "10.40.0.50", vipPrefixLength: 18, moveVipWith: "aws-secondary-ip" });
        expect(plan.clusterSpec.frontDoor).toBe("vip");
    });

    it("never uses an address AWS reserves (the first four and the last of each subnet)", () => {
        for (const spec of [baseAws, { ...baseAws, vpc: { cidr: "10.9.8.0/24" }, members: { etcd: 5, patroni: 9 } }]) {
            const plan = planAwsCluster(resolveAwsSpec(spec), {});
            for (const h of plan.hosts) {
                const [base, prefix] = plan.subnets[h.subnet].cidr.split("/");
                const offset = Number(h.address.split(".")[3]) - Number(base.split(".")[3]);
                expect(offset, h.name).toBeGreaterThanOrEqual(4);
                expect(offset, h.name).toBeLessThan(2 ** (32 - Number(prefix)) - 1);
            }
            expect(new Set(plan.hosts.map((h) => h.address)).size).toBe(plan.hosts.length);
        }
    });

    it("wraps members round the zones when they outnumber them, one address further each round", () => {
        const plan = planAwsCluster(resolveAwsSpec({ ...baseAws, availabilityZones: 2, members: { etcd: 5 } }), {});
        expect(plan.subnets).toHaveLength(2);
        expect(plan.hosts.filter((h) => h.role === "etcd").map((h) => [h.address, h.subnet])).toEqual([
            ["10.40.0.10", 0],
            ["10.40.64.10", 1],
            ["10.40.0.11", 0],
            ["10.40.64.11", 1],
            ["10.40.0.12", 0],
        ]);
    });

    it("uses existing subnets as given, and a VIP the user names", () => {
        const subnets = [
            { id: "subnet-0aaaaaaaaaaaaaaa1", cidr: "10.60.1.0/24", availabilityZone: "eu-west-1a" },
            { id: "subnet-0bbbbbbbbbbbbbbb2", cidr: "10.60.2.0/24", availabilityZone: "eu-west-1b" },
        ];
        const plan = planAwsCluster(resolveAwsSpec({ ...baseAws, ssh: { keyName: "k", access: "public" }, vpc: { vpcId: "vpc-0123456789abcdef0", subnets }, vip: "10.60.1.99" }), { os: "rocky9" });
        expect(plan.subnets.map((s) => s.existing?.id)).toEqual(subnets.map((s) => s.id));
        expect(plan.hosts.find((h) => h.name === "pg2")!.address).toBe("10.60.2.20");
        expect(plan.hosts.find((h) => h.name === "pg3")!.address).toBe("10.60.1.21");
        expect(plan.vip).toBe("10.60.1.99");
        expect(plan.publicSubnetCidr).toBeUndefined();
        expect(plan.bastionAddress).toBeUndefined();
        expect(plan.clusterSpec.keepalived).toMatchObject({ vip: "10.60.1.99", vipPrefixLength: 24 });
    });

    it("with the NLB front door: no HAProxy hosts, no Keepalived, an external front door, the NLB's subnets allowed in pg_hba", () => {
        const plan = planAwsCluster(resolveAwsSpec({ ...baseAws, frontDoor: "nlb" }), { clientCidrs: ["10.99.0.0/16"] });
        expect(plan.hosts.filter((h) => h.role === "haproxy")).toEqual([]);
        expect(plan.vip).toBeUndefined();
        expect(plan.clusterSpec.frontDoor).toBe("external");
        expect(plan.clusterSpec.keepalived).toBeUndefined();
        expect(plan.clusterSpec.clientCidrs).toEqual(["10.99.0.0/16", "10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"]);
    });

    it("chooses the NLB front door by default over several zones, the VIP in one zone", () => {
        const { frontDoor: _chosen, ...unchosen } = baseAws;
        expect(resolveAwsSpec(unchosen).frontDoor).toBe("nlb");
        expect(resolveAwsSpec({ ...unchosen, availabilityZones: 2 }).frontDoor).toBe("nlb");
        expect(resolveAwsSpec({ ...unchosen, availabilityZones: 1 }).frontDoor).toBe("vip");
        const subnet = { id: "subnet-0aaaaaaaaaaaaaaa1", cidr: "10.60.1.0/24", availabilityZone: "eu-west-1a" };
        expect(resolveAwsSpec({ ...unchosen, vpc: { vpcId: "vpc-0123456789abcdef0", subnets: [subnet] } }).frontDoor).toBe("vip");
        expect(planAwsCluster(resolveAwsSpec(unchosen), {}).hosts.filter((h) => h.role === "haproxy")).toEqual([]);
    });

    it("puts a host of a new generation beside its predecessor, under a new name; every other host stays", () => {
        const plain = planAwsCluster(resolveAwsSpec(baseAws), {});
        const plan = planAwsCluster(resolveAwsSpec({ ...baseAws, generations: { pg2: 1, etcd1: 2, lb2: 1 }, hostImages: { pg2: "ami-0fedcba9876543210" } }), {});
        const byName = new Map(plan.hosts.map((h) => [h.name, h]));
        expect(byName.get("pg2-g1")).toMatchObject({ address: "10.40.64.35", subnet: 1, image: "ami-0fedcba9876543210" });
        expect(byName.get("etcd1-g2")).toMatchObject({ address: "10.40.0.10", subnet: 0 });
        expect(byName.get("lb2-g1")).toMatchObject({ address: "10.40.0.33", subnet: 0 });
        expect(byName.has("pg2") || byName.has("etcd1") || byName.has("lb2")).toBe(false);
        const untouched = (p: typeof plan) => p.hosts.filter((h) => !["pg2", "etcd1", "lb2"].includes(h.name.replace(/-g\d+$/, ""))).map((h) => [h.name, h.address]);
        expect(untouched(plan)).toEqual(untouched(plain));
        // Up to 9 members in one zone: both generations of each fit the window, clear of each other and the VIP.
        const crowded = planAwsCluster(resolveAwsSpec({ ...baseAws, availabilityZones: 1, members: { etcd: 5, patroni: 9 }, generations: Object.fromEntries(["etcd5", "pg9", "lb2"].map((h) => [h, 1])) }), {});
        const all = [...crowded.hosts.map((h) => h.address), crowded.vip];
        expect(new Set(all).size).toBe(all.length);
        const previous = planAwsCluster(resolveAwsSpec({ ...baseAws, availabilityZones: 1, members: { etcd: 5, patroni: 9 } }), {});
        expect(new Set([...all, ...previous.hosts.map((h) => h.address)]).size).toBe(all.length + 3);
    });

    it("keeps the user's other keepalived settings", () => {
        const plan = planAwsCluster(resolveAwsSpec(baseAws), { keepalived: { virtualRouterId: 61, advertIntervalSec: 2 } as never });
        expect(plan.clusterSpec.keepalived).toMatchObject({ virtualRouterId: 61, advertIntervalSec: 2, moveVipWith: "aws-secondary-ip" });
    });
});

describe("the IAM policy document", () => {
    it("allows exactly assign on the given ENIs and describe on *", () => {
        expect(moveVipPolicy(["arn:a", "arn:b"])).toEqual({
            Version: "2012-10-17",
            Statement: [
                { Sid: "MoveVipBetweenHaproxyEnis", Effect: "Allow", Action: ["ec2:AssignPrivateIpAddresses"], Resource: ["arn:a", "arn:b"] },
                { Sid: "CheckVipAssignment", Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces"], Resource: "*" },
            ],
        });
    });
});

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** The dev stack's config with `aws` and `cluster` changed. */
function devConfig(mutate: (aws: Record<string, any>, cluster: Record<string, any>, all: Record<string, string>) => void): Record<string, string> {
    return stackConfig("dev", mutate);
}

/** A stack's config with `aws` and `cluster` changed. */
function stackConfig(stack: string, mutate: (aws: Record<string, any>, cluster: Record<string, any>, all: Record<string, string>) => void): Record<string, string> {
    const all = { ...readStackFile(stack) };
    const aws = JSON.parse(all["pulumi-patroni:aws"]);
    const cluster = JSON.parse(all["pulumi-patroni:cluster"]);
    mutate(aws, cluster, all);
    all["pulumi-patroni:aws"] = JSON.stringify(aws);
    all["pulumi-patroni:cluster"] = JSON.stringify(cluster);
    return all;
}

function issuesOf(all: Record<string, string>): ValidationIssue[] {
    try {
        parseStackConfig(all, "dev", STACK_PROVIDERS);
    } catch (err) {
        expect(err).toBeInstanceOf(ClusterConfigError);
        return (err as ClusterConfigError).issues;
    }
    return [];
}

function expectIssue(issues: ValidationIssue[], setting: string, expected: { value?: unknown; fix: string | RegExp; rule?: string | RegExp }): void {
    const matching = issues.filter((i) => i.setting === setting);
    expect(matching, `an issue for ${setting} among: ${issues.map(formatIssue).join(" | ") || "(none)"}`).toHaveLength(1);
    const message = formatIssue(matching[0]);
    if ("value" in expected) expect(message).toContain(`got ${JSON.stringify(expected.value)}`);
    if (typeof expected.fix === "string") expect(message).toContain(`Fix: ${expected.fix}`);
    else expect(message).toMatch(expected.fix);
    if (expected.rule !== undefined) expect(matching[0].rule).toMatch(expected.rule);
}

const A = "pulumi-patroni:aws";
const C = "pulumi-patroni:cluster";

describe("validation of AWS settings", () => {
    it("accepts the three AWS stack files", () => {
        for (const stack of ["dev", "staging", "prod"]) expect(issuesOf(readStackFile(stack)), stack).toEqual([]);
    });

    it("rejects cluster.hosts and keepalived.vip: the program plans them", () => {
        const issues = issuesOf(devConfig((_a, c) => {
            c.hosts = { etcd: [], patroni: [] };
            c.keepalived = { vip: "10.40.0.99" };
        }));
        expectIssue(issues, `${C}.hosts`, { fix: `remove ${C}.hosts; set member counts with ${A}.members`, rule: /planned by the program/ });
        expectIssue(issues, `${C}.keepalived.vip`, { value: "10.40.0.99", fix: `remove it; to choose the address yourself set ${A}.vip` });
    });

    it("client CIDRs open to the world need the cluster's allowClientsFromAnywhere, as its pg_hba does", () => {
        expectIssue(issuesOf(devConfig((a) => (a.clientCidrs = ["0.0.0.0/0"]))), `${A}.clientCidrs[0]`, { value: "0.0.0.0/0", rule: /any address/, fix: `list the clients' own networks, e.g. 10.0.0.0/16; to open PostgreSQL to every address on purpose, set ${C}.allowClientsFromAnywhere: true` });
        expect(issuesOf(devConfig((a, c) => ((a.clientCidrs = ["0.0.0.0/0"]), (c.allowClientsFromAnywhere = true))))).toEqual([]);
    });

    it("rejects admin CIDRs open to the world, and an empty list", () => {
        expectIssue(issuesOf(devConfig((a) => (a.adminCidrs = ["0.0.0.0/0"]))), `${A}.adminCidrs[0]`, { value: "0.0.0.0/0", fix: /list your own addresses/ });
        expectIssue(issuesOf(devConfig((a) => (a.adminCidrs = []))), `${A}.adminCidrs`, { value: [], fix: /CIDRs of your workstation/ });
    });

    it("rejects a typo with the nearest known key, and a wrong type", () => {
        expectIssue(issuesOf(devConfig((a) => (a.frontdoor = "nlb"))), `${A}.frontdoor`, { value: "nlb", fix: `did you mean ${A}.frontDoor?` });
        expectIssue(issuesOf(devConfig((a) => (a.frontDoor = "alb"))), `${A}.frontDoor`, { value: "alb", fix: /one of "vip", "nlb"/ });
    });

    it("rejects more than three zones, both or neither key source, and an unknown OS for AMIs", () => {
        expectIssue(issuesOf(devConfig((a) => (a.availabilityZones = 4))), `${A}.availabilityZones`, { value: 4, fix: /use 3/ });
        expectIssue(issuesOf(devConfig((a) => (a.ssh = { keyName: "x", publicKey: "ssh-ed25519 AAAA x" }))), `${A}.ssh`, { fix: /set pulumi-patroni:aws.ssh.keyName, or/ });
        expectIssue(issuesOf(devConfig((_a, c) => (c.os = "alma9"))), `${C}.os`, { value: "alma9", fix: /use one of debian12, debian13, ubuntu24.04, rocky9/ });
    });

    it("needs a bastion subnet with an existing VPC and bastion access; rejects vpc.cidr beside vpcId", () => {
        const issues = issuesOf(devConfig((a) => {
            a.vpc = { vpcId: "vpc-0123456789abcdef0", cidr: "10.1.0.0/16", subnets: [{ id: "subnet-0aaaaaaaaaaaaaaa1", cidr: "10.1.1.0/24", availabilityZone: "eu-west-1a" }] };
            delete a.availabilityZones;
            a.ssh = { access: "bastion", keyName: "k" };
        }));
        expectIssue(issues, `${A}.vpc.bastionSubnet`, { fix: /name a public subnet of the VPC for the bastion/ });
        expectIssue(issues, `${A}.vpc.cidr`, { value: "10.1.0.0/16", fix: /remove pulumi-patroni:aws.vpc.cidr/ });
    });

    it("rejects a VIP outside the HAProxy subnet, a reserved one, and one a host has", () => {
        expectIssue(issuesOf(devConfig((a) => (a.vip = "10.40.64.50"))), `${A}.vip`, { value: "10.40.64.50", fix: "choose an address in 10.40.0.0/18", rule: /outside the HAProxy subnet/ });
        expectIssue(issuesOf(devConfig((a) => (a.vip = "10.40.0.2"))), `${A}.vip`, { value: "10.40.0.2", fix: /10\.40\.0\.50/, rule: /reserves/ });
        expectIssue(issuesOf(devConfig((a) => (a.vip = "10.40.0.30"))), `${A}.vip`, { value: "10.40.0.30", rule: /planned address of lb1/, fix: /10\.40\.0\.50/ });
    });

    it("rejects an x86 instance type on arm64, and gp3 throughput beyond what the IOPS allow", () => {
        expectIssue(issuesOf(devConfig((a) => (a.architecture = "arm64"))), `${A}.instanceTypes.patroni`, { value: "t3.medium", fix: /Graviton type/ });
        expectIssue(issuesOf(devConfig((a) => (a.volumes = { patroniThroughputMiBps: 1000 }))), `${A}.volumes.patroniThroughputMiBps`, { value: 1000, fix: /raise patroniIops/ });
    });

    // EC2 tag restrictions: keys up to 128, values up to 256, "aws:" reserved, 50 per resource.
    it("rejects tags EC2 refuses, and tags the program sets itself", () => {
        const issues = issuesOf(devConfig((a) => (a.tags = { "aws:team": "db", Name: "mine", ["k".repeat(129)]: "v", long: "v".repeat(257) })));
        expectIssue(issues, `${A}.tags.aws:team`, { value: "aws:team", rule: /reserves/, fix: /without the aws: prefix/ });
        expectIssue(issues, `${A}.tags.Name`, { value: "Name", rule: /the program sets itself/, fix: /remove it/ });
        expectIssue(issues, `${A}.tags.${"k".repeat(129)}`, { rule: /longer than 128/, fix: /at most 128/ });
        expectIssue(issues, `${A}.tags.long`, { rule: /longer than 256/, fix: /at most 256/ });
        const many = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`t${i}`, "x"]));
        expectIssue(issuesOf(devConfig((a) => (a.tags = many))), `${A}.tags`, { value: 48, fix: "keep at most 47 tags" });
        expect(issuesOf(devConfig((a) => (a.tags = Object.fromEntries(Object.entries(many).slice(0, 47)))))).toEqual([]);
    });

    it("rejects cluster.keepalived.interface on AWS: it is found from the instance's MAC", () => {
        expectIssue(issuesOf(devConfig((_a, c) => (c.keepalived = { interface: "ens5" }))), `${C}.keepalived.interface`, { value: "ens5", fix: "remove it", rule: /MAC/ });
    });

    it("rejects a generation or host image for a host the stack does not have, or of the wrong kind", () => {
        expectIssue(issuesOf(devConfig((a) => (a.generations = { pg4: 1 }))), `${A}.generations.pg4`, { value: "pg4", fix: /use one of etcd1, etcd2, etcd3, pg1, pg2, pg3, lb1, lb2/ });
        expectIssue(issuesOf(devConfig((a) => (a.generations = { pg3: -1 }))), `${A}.generations.pg3`, { value: -1, fix: /raise it by one/ });
        expectIssue(issuesOf(devConfig((a) => (a.hostImages = { "pg3-g1": "ami-0fedcba9876543210" }))), `${A}.hostImages.pg3-g1`, { fix: /without -g<generation>/ });
        expectIssue(issuesOf(devConfig((a) => (a.hostImages = { pg3: "latest" }))), `${A}.hostImages.pg3`, { value: "latest", fix: /ami-0123456789abcdef0/ });
        expect(issuesOf(devConfig((a) => ((a.generations = { pg3: 1 }), (a.hostImages = { pg3: "ami-0fedcba9876543210" }))))).toEqual([]);
    });

    it("rejects an aws.image that is not an AMI id", () => {
        expectIssue(issuesOf(devConfig((a) => (a.image = "debian-13"))), `${A}.image`, { value: "debian-13", fix: /ami-0123456789abcdef0/ });
        expect(issuesOf(devConfig((a) => (a.image = "ami-0123456789abcdef0")))).toEqual([]);
    });

    it("rejects ssh.proxy on AWS, and aws settings with provider existing", () => {
        expectIssue(issuesOf(devConfig((_a, _c, all) => (all["pulumi-patroni:ssh"] = JSON.stringify({ proxy: { host: "b" } })))), "pulumi-patroni:ssh.proxy", { fix: /aws.ssh.access/ });
        const lab = { ...readStackFile("lab"), [A]: readStackFile("dev")[A] };
        expectIssue(issuesOf(lab), A, { fix: /set pulumi-patroni:provider: aws, or remove/ });
    });

    // Load balancer and target group names: at most 32 characters (Elastic Load Balancing API,
    // CreateLoadBalancer/CreateTargetGroup `Name`; pulumi/pulumi-aws#1932); IAM role names 64 (IAM
    // API, CreateRole `RoleName`). Each fix the issue suggests must itself be accepted.
    it.each([
        ["staging", "orders-staging-eu-west-1xyz", /orders-staging-eu-west-1xyz-replicas \(36 > 32, aws:lb\/targetGroup:TargetGroup\)/, 23],
        ["dev", "a".repeat(45), /-aws-haproxy-role-xxxxxxx \(70 > 64, aws:iam\/role:Role\)/, 39],
    ])("%s: rejects scope %s, whose AWS names exceed their limits, with a shorter scope that fits", (stack, scope, rule, max) => {
        const issues = issuesOf(stackConfig(stack, (_a, c) => (c.scope = scope)));
        expectIssue(issues, `${C}.scope`, { value: scope, rule, fix: new RegExp(`use a scope of at most ${max} characters, e\\.g\\. "`) });
        const suggested = /e\.g\. "([^"]+)"/.exec(issues.find((i) => i.setting === `${C}.scope`)!.fix)![1];
        expect(suggested.length).toBeLessThanOrEqual(max);
        expect(issuesOf(stackConfig(stack, (_a, c) => (c.scope = suggested)))).toEqual([]);
    });

    it("checks the names built from the stack name when cluster.scope is not set", () => {
        const all = stackConfig("staging", (_a, c) => delete c.scope);
        const long = "staging-with-a-long-stack-name";
        expect(() => parseStackConfig(all, long, STACK_PROVIDERS)).toThrow(/pulumi-patroni:cluster.scope: .*staging-with-a-long-stack-name-replicas \(39 > 32/);
        expect(() => parseStackConfig(all, "staging", STACK_PROVIDERS)).not.toThrow();
    });

    it("rejects a scope that would make the load balancer's name begin with internal-", () => {
        const issues = issuesOf(stackConfig("staging", (_a, c) => (c.scope = "internal-orders")));
        expectIssue(issues, `${C}.scope`, { value: "internal-orders", rule: /begin with "internal-"/, fix: 'use a scope that does not begin with "internal-", e.g. "orders"' });
        expect(issuesOf(stackConfig("staging", (_a, c) => (c.scope = "orders")))).toEqual([]);
    });

    it("validateAwsSpec reports a missing aws object with the fix", () => {
        expect(validateAwsSpec(undefined, {}, A, C)[0]).toMatchObject({ setting: A, rule: "is required with provider aws" });
    });
});

// ---------------------------------------------------------------------------------------------
// The program, per stack
// ---------------------------------------------------------------------------------------------

function plan(stack: string, overrides: Record<string, unknown> = {}): Promise<RunResult> {
    const { config, secretKeys } = loadStackConfig(stack);
    return runProgram({ programPath: PROGRAM, stack, config: { ...config, ...overrides }, secretKeys, mode: "plan", timeoutMs: 120_000, onProgramOutput: () => undefined });
}

const runs: Record<string, RunResult> = {};
beforeAll(async () => {
    const [dev, staging, prod] = await Promise.all([plan("dev"), plan("staging"), plan("prod")]);
    Object.assign(runs, { dev, staging, prod });
}, 240_000);

const ofType = (run: RunResult, type: string) => run.resources.filter((r) => r.type === type);
function get(run: RunResult, name: string): RecordedResource {
    const found = run.resources.find((r) => r.name === name);
    if (!found) throw new Error(`no resource ${name}`);
    return found;
}

/** Every ingress rule as text: "<group> <protocol> <ports> from <source group | cidr | sg id>". */
function ingressRules(run: RunResult): string[] {
    const groupById = new Map(ofType(run, "aws:ec2/securityGroup:SecurityGroup").map((g) => [String(g.outputs.id), g.name.replace(/^.*-sg-/, "")]));
    return ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        .map((r) => {
            const i = r.inputs as Record<string, any>;
            const ports = i.fromPort === undefined ? "-" : i.fromPort === i.toPort ? String(i.fromPort) : `${i.fromPort}-${i.toPort}`;
            const source = i.cidrIpv4 ?? groupById.get(i.referencedSecurityGroupId) ?? i.referencedSecurityGroupId;
            return `${groupById.get(i.securityGroupId)} ${i.ipProtocol} ${ports} from ${source}`;
        })
        .sort();
}

const CORE_RULES = [
    "etcd tcp 2379 from etcd",
    "etcd tcp 2379 from patroni",
    "etcd tcp 2380 from etcd",
    "patroni tcp 5432 from patroni",
    "patroni tcp 8008 from patroni",
];

describe("security groups", () => {
    it("dev (public SSH, VIP): exactly these ingress rules", () => {
        expect(ingressRules(runs.dev)).toEqual(
            [
                ...CORE_RULES,
                "patroni tcp 5432 from haproxy",
                "patroni tcp 8008 from haproxy",
                "haproxy tcp 5000 from 10.40.0.0/16",
                "haproxy tcp 5001 from 10.40.0.0/16",
                "haproxy tcp 5000 from patroni",
                "haproxy tcp 7000 from 203.0.113.0/24",
                "haproxy tcp 7000 from haproxy",
                "haproxy 112 - from haproxy",
                "etcd tcp 22 from 203.0.113.0/24",
                "patroni tcp 22 from 203.0.113.0/24",
                "haproxy tcp 22 from 203.0.113.0/24",
            ].sort(),
        );
    });

    it("staging (bastion, NLB): exactly these ingress rules", () => {
        expect(ingressRules(runs.staging)).toEqual(
            [
                ...CORE_RULES,
                "patroni tcp 5432 from nlb",
                "patroni tcp 8008 from nlb",
                "nlb tcp 5000 from 10.41.0.0/16",
                "nlb tcp 5001 from 10.41.0.0/16",
                "nlb tcp 5000 from sg-0a1b2c3d4e5f60718",
                "nlb tcp 5001 from sg-0a1b2c3d4e5f60718",
                "nlb tcp 5000 from patroni",
                "etcd tcp 22 from bastion",
                "patroni tcp 22 from bastion",
                "bastion tcp 22 from 198.51.100.0/24",
            ].sort(),
        );
    });

    it("prod (bastion, VIP, existing VPC): exactly these ingress rules", () => {
        expect(ingressRules(runs.prod)).toEqual(
            [
                ...CORE_RULES,
                "patroni tcp 5432 from haproxy",
                "patroni tcp 8008 from haproxy",
                "haproxy tcp 5000 from 10.60.0.0/16",
                "haproxy tcp 5001 from 10.60.0.0/16",
                "haproxy tcp 5000 from patroni",
                "haproxy tcp 7000 from bastion",
                "haproxy tcp 7000 from haproxy",
                "haproxy 112 - from haproxy",
                "etcd tcp 22 from bastion",
                "patroni tcp 22 from bastion",
                "haproxy tcp 22 from bastion",
                "bastion tcp 22 from 198.51.100.10/32",
                "bastion tcp 22 from 198.51.100.11/32",
            ].sort(),
        );
        expect(ofType(runs.prod, "aws:ec2/securityGroup:SecurityGroup").every((g) => g.inputs.vpcId === "vpc-0123456789abcdef0")).toBe(true);
    });

    it("opens nothing to 0.0.0.0/0 on 22, 5432, 2379, 2380 or 8008, and VRRP only inside the HAProxy group", () => {
        for (const [stack, run] of Object.entries(runs)) {
            for (const rule of ingressRules(run)) {
                expect(rule, stack).not.toMatch(/ (22|5432|2379|2380|8008) from 0\.0\.0\.0\/0$/);
                expect(rule, stack).not.toMatch(/from 0\.0\.0\.0\/0$/);
                if (rule.includes(" 112 ")) expect(rule, stack).toBe("haproxy 112 - from haproxy");
            }
            for (const r of ofType(run, "aws:ec2/securityGroup:SecurityGroup")) {
                expect(r.inputs.ingress ?? [], `${stack} ${r.name} has no inline rules`).toEqual([]);
            }
        }
    });

    it("describe every group and rule in the characters and length EC2 accepts", () => {
        // EC2 API, CreateSecurityGroup GroupDescription / IpPermission descriptions: up to 255
        // characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*
        const allowed = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
        for (const [stack, run] of Object.entries(runs)) {
            for (const r of [...ofType(run, "aws:ec2/securityGroup:SecurityGroup"), ...ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), ...ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]) {
                expect(String(r.inputs.description), `${stack} ${r.name}`).toMatch(allowed);
            }
        }
    });

    it("allows all egress (packages, the EC2 API) from every group, one rule each", () => {
        for (const run of Object.values(runs)) {
            const groups = ofType(run, "aws:ec2/securityGroup:SecurityGroup").length;
            const egress = ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
            expect(egress).toHaveLength(groups);
            for (const e of egress) expect(e.inputs).toMatchObject({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
        }
    });
});

/** Instance resources by host name (`<scope>-aws-instance-<host>`). */
function instances(run: RunResult): Map<string, RecordedResource> {
    return new Map(ofType(run, "aws:ec2/instance:Instance").map((r) => [r.name.replace(/^.*-aws-(instance-)?/, ""), r]));
}

/** The availability zone of each instance: through its subnet, or its ENI's subnet. */
function zoneOf(run: RunResult, instance: RecordedResource): string {
    let subnetId = instance.inputs.subnetId as string | undefined;
    const primary = instance.inputs.primaryNetworkInterface as { networkInterfaceId: string } | undefined;
    if (primary) subnetId = ofType(run, "aws:ec2/networkInterface:NetworkInterface").find((e) => e.outputs.id === primary.networkInterfaceId)!.inputs.subnetId as string;
    const created = ofType(run, "aws:ec2/subnet:Subnet").find((s) => s.outputs.id === subnetId);
    if (created) return String(created.inputs.availabilityZone);
    const existing = JSON.parse(readStackFile("prod")[A]).vpc.subnets.concat([JSON.parse(readStackFile("prod")[A]).vpc.bastionSubnet]);
    return existing.find((s: { id: string }) => s.id === subnetId).availabilityZone;
}

describe("instances", () => {
    it("spread etcd and Patroni one per zone, the HAProxy pair in one subnet", () => {
        const zonesA = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
        for (const [stack, run] of Object.entries(runs)) {
            const byHost = instances(run);
            expect(["etcd1", "etcd2", "etcd3"].map((h) => zoneOf(run, byHost.get(h)!)), stack).toEqual(zonesA);
            expect(["pg1", "pg2", "pg3"].map((h) => zoneOf(run, byHost.get(h)!)), stack).toEqual(zonesA);
            if (stack !== "staging") {
                const enis = ofType(run, "aws:ec2/networkInterface:NetworkInterface");
                expect(enis.map((e) => e.inputs.subnetId), stack).toEqual([enis[0].inputs.subnetId, enis[0].inputs.subnetId]);
                expect(["lb1", "lb2"].map((h) => zoneOf(run, byHost.get(h)!)), stack).toEqual(["eu-west-1a", "eu-west-1a"]);
            }
        }
    });

    it("have the planned private addresses and the instance types of each stack", () => {
        const types = (run: RunResult) => Object.fromEntries([...instances(run)].map(([h, r]) => [h, r.inputs.instanceType]));
        expect(types(runs.dev)).toEqual({ etcd1: "t3.small", etcd2: "t3.small", etcd3: "t3.small", pg1: "t3.medium", pg2: "t3.medium", pg3: "t3.medium", lb1: "t3.small", lb2: "t3.small" });
        expect(types(runs.staging)).toEqual({ etcd1: "t3.small", etcd2: "t3.small", etcd3: "t3.small", pg1: "m6i.large", pg2: "m6i.large", pg3: "m6i.large", bastion: "t3.micro" });
        expect(types(runs.prod)).toEqual({ etcd1: "m6i.large", etcd2: "m6i.large", etcd3: "m6i.large", pg1: "r6i.2xlarge", pg2: "r6i.2xlarge", pg3: "r6i.2xlarge", lb1: "c6i.large", lb2: "c6i.large", bastion: "t3.micro" });
        expect(instances(runs.prod).get("pg2")!.inputs.privateIp).toBe("10.60.2.20");
        expect(get(runs.prod, "orders-aws-eni-lb2").inputs.privateIps).toEqual(["10.60.1.31"]);
    });

    it("require IMDSv2, encrypt a gp3 root volume, log root in through cloud-init, and carry the stack's tags", () => {
        for (const [stack, run] of Object.entries(runs)) {
            for (const [host, r] of instances(run)) {
                expect(r.inputs.metadataOptions, `${stack} ${host}`).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled" });
                expect(r.inputs.rootBlockDevice, `${stack} ${host}`).toMatchObject({ volumeType: "gp3", encrypted: true });
                expect(String(r.inputs.userData)).toMatch(/^#cloud-config\n/);
                if (host !== "bastion") expect(String(r.inputs.userData)).toContain("disable_root: false");
                expect(r.inputs.tags, `${stack} ${host}`).toMatchObject({ environment: stack, owner: "platform", "pulumi-patroni:cluster": expect.any(String), Name: expect.stringContaining(host) });
            }
            for (const r of run.resources.filter((x) => x.type.startsWith("aws:") && "tags" in x.inputs)) {
                expect((r.inputs.tags as Record<string, string>).environment, `${stack} ${r.name}`).toBe(stack);
            }
        }
    });

    it("look up the AMI of the stack's release", () => {
        // The engine records no invokes; the release → AMI table is what the lookup uses.
        expect(AWS_IMAGES.debian12.namePattern.x86_64).toBe("debian-12-amd64-*");
        expect(AWS_IMAGES["ubuntu24.04"].namePattern.x86_64).toMatch(/ubuntu-noble-24\.04-amd64-server-\*$/);
        expect(AWS_IMAGES.rocky9.namePattern.x86_64).toMatch(/^Rocky-9-EC2-Base/);
        for (const run of Object.values(runs)) for (const [, r] of instances(run)) expect(r.inputs.ami).toBe("ami-0123456789abcdef0");
    });

    it("give the instance profile to the HAProxy instances only", () => {
        for (const [stack, run] of Object.entries(runs)) {
            for (const [host, r] of instances(run)) {
                if (host.startsWith("lb")) expect(r.inputs.iamInstanceProfile, `${stack} ${host}`).toBeTruthy();
                else expect(r.inputs.iamInstanceProfile, `${stack} ${host}`).toBeUndefined();
            }
        }
        expect(ofType(runs.staging, "aws:iam/instanceProfile:InstanceProfile")).toEqual([]);
        expect(ofType(runs.staging, "aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    });
});

describe("least privilege, as granted", () => {
    /** `aws ec2 assign-private-ip-addresses` → `ec2:AssignPrivateIpAddresses`. */
    const action = (service: string, verb: string) => `${service}:${verb.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;

    it.each(["dev", "prod"])("%s: the balancers' role grants exactly the EC2 actions their scripts call", (stack) => {
        const run = runs[stack];
        const scope = stack === "dev" ? "orders-dev" : "orders";
        const called = new Set<string>();
        for (const r of run.resources.filter((x) => x.name.startsWith(`${scope}-proxy-`) && x.type === "command:remote:Command")) {
            for (const text of [r.inputs.create, r.inputs.stdin, r.inputs.delete].filter((t): t is string => typeof t === "string")) {
                for (const m of text.matchAll(/\baws (ec2|iam|sts) ([a-z-]+)/g)) called.add(action(m[1], m[2]));
            }
        }
        const [policy] = ofType(run, "aws:iam/rolePolicy:RolePolicy");
        const granted = (JSON.parse(String(policy.inputs.policy)).Statement as Array<{ Action: string[] }>).flatMap((st) => st.Action);
        expect(called.size).toBeGreaterThan(0);
        expect([...granted].sort()).toEqual([...called].sort());
    });

    it("no security-group rule from a source that cannot reach it: with a bastion, admins reach the balancers' stats page through it", () => {
        // prod: private balancers; their stats page is open to the bastion, not to the admins' public CIDRs.
        const stats = ingressRules(runs.prod).filter((r) => r.startsWith("haproxy tcp 7000 "));
        expect(stats.sort()).toEqual(["haproxy tcp 7000 from bastion", "haproxy tcp 7000 from haproxy"]);
        // dev: public balancers; the admins' CIDRs reach them directly.
        expect(ingressRules(runs.dev)).toContain("haproxy tcp 7000 from 203.0.113.0/24");
    });
});

describe("the IAM policy of the HAProxy pair", () => {
    it.each(["dev", "prod"])("%s: assign/unassign scoped to the pair's two ENIs, describe on *, trusted by EC2 only", (stack) => {
        const run = runs[stack];
        const enis = ofType(run, "aws:ec2/networkInterface:NetworkInterface");
        const arns = enis.map((e) => String(e.outputs.arn));
        expect(arns).toHaveLength(2);
        for (const arn of arns) expect(arn).toMatch(/^arn:aws:ec2:eu-west-1:\d{12}:network-interface\/eni-[0-9a-f]+$/);
        const [policy] = ofType(run, "aws:iam/rolePolicy:RolePolicy");
        expect(JSON.parse(String(policy.inputs.policy))).toEqual(moveVipPolicy(arns));
        const [role] = ofType(run, "aws:iam/role:Role");
        expect(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement).toEqual([{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
        for (const h of ["lb1", "lb2"]) {
            const instance = instances(run).get(h)!;
            expect((instance.inputs.primaryNetworkInterface as { networkInterfaceId: string }).networkInterfaceId).toBe(get(run, `${instance.name.replace(/instance-lb\d$/, "")}eni-${h}`).outputs.id);
        }
    });
});

describe("data volumes", () => {
    it.each(["dev", "staging", "prod"])("%s: an encrypted gp3 volume per etcd and Patroni host, in its zone, attached and mounted before install", (stack) => {
        const run = runs[stack];
        const settings = readStackSettings(stack);
        const { aws } = awsStackSettings(settings)!;
        const volumes = ofType(run, "aws:ebs/volume:Volume");
        expect(volumes.map((v) => v.name.replace(/^.*-data-/, "")).sort()).toEqual(["etcd1", "etcd2", "etcd3", "pg1", "pg2", "pg3"]);
        for (const v of volumes) {
            const host = v.name.replace(/^.*-data-/, "");
            const size = host.startsWith("pg") ? aws.volumes.patroniGiB : aws.volumes.etcdGiB;
            expect(v.inputs, v.name).toMatchObject({ type: "gp3", encrypted: true, size });
            if (host.startsWith("pg")) expect(v.inputs).toMatchObject({ iops: aws.volumes.patroniIops, throughput: aws.volumes.patroniThroughputMiBps });
            expect(v.inputs.availabilityZone).toBe(zoneOf(run, instances(run).get(host)!));
            const attachment = get(run, v.name.replace("-data-", "-attach-"));
            expect(attachment.inputs).toMatchObject({ volumeId: v.outputs.id, instanceId: instances(run).get(host)!.outputs.id, deviceName: "/dev/sdf" });

            const component = host.startsWith("pg") ? "patroni" : "etcd";
            const mount = get(run, `${settings.cluster.scope}-${component}-mount-data-${host}`);
            expect(mount.waitsFor).toEqual(expect.arrayContaining([attachment.name, `${settings.cluster.scope}-${component}-ready-${host}`]));
            expect(get(run, `${settings.cluster.scope}-${component}-install-${host}`).waitsFor).toContain(mount.name);
            const script = String(mount.inputs.create);
            expect(script).toContain(`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${String(v.outputs.id).replace("-", "")}`);
            const mountPoint = host.startsWith("pg") ? settings.cluster.layout.postgresHome : "/var/lib/etcd";
            expect(script).toContain(`UUID=$uuid ${mountPoint} xfs defaults,noatime,nofail 0 2`);
            expect(script).toMatch(/if \[ -z "\$\(blkid -o value -s TYPE "\$device" \|\| true\)" \]; then\n\s+command -v mkfs.xfs/);
        }
    });
});

/** The connection of a host's remote commands (recorded unwrapped; it is secret in Pulumi). */
function connectionOf(run: RunResult, name: string): Record<string, any> {
    const r = get(run, name);
    expect(r.secretInputPaths.map((p) => p[0])).toContain("connection");
    return r.inputs.connection as Record<string, any>;
}

describe("SSH from the workstation or pipeline", () => {
    it("dev (access public): every host by its public IP as root, no proxy, no bastion", () => {
        const c = connectionOf(runs.dev, "orders-dev-etcd-ready-etcd1");
        expect(c.host).toBe(instances(runs.dev).get("etcd1")!.outputs.publicIp);
        expect(c.user).toBe("root");
        expect(c.proxy).toBeUndefined();
        expect(instances(runs.dev).get("etcd1")!.inputs.associatePublicIpAddress).toBe(true);
        expect(connectionOf(runs.dev, "orders-dev-proxy-ready-lb1").host).toBe(get(runs.dev, "orders-dev-aws-eip-lb1").outputs.publicIp);
        expect(instances(runs.dev).has("bastion")).toBe(false);
    });

    it.each([
        ["staging", "orders-staging", "pg2", "10.41.64.20", "ubuntu"],
        ["prod", "orders", "pg2", "10.60.2.20", "admin"],
    ])("%s (access bastion): private address through the bastion's public IP as the image's user", (stack, scope, host, address, bastionUser) => {
        const run = runs[stack];
        const c = connectionOf(run, `${scope}-patroni-ready-${host}`);
        const bastion = get(run, `${scope}-aws-bastion`);
        expect(c).toMatchObject({ host: address, user: "root", proxy: { host: bastion.outputs.publicIp, user: bastionUser, port: 22 } });
        expect(bastion.inputs.associatePublicIpAddress).toBe(true);
        for (const [h, r] of instances(run)) if (h !== "bastion") expect(r.inputs.associatePublicIpAddress ?? false, h).toBe(false);
        expect(run.outputs.aws).toMatchObject({ bastionPublicIp: bastion.outputs.publicIp });
    });
});

describe("Keepalived on AWS", () => {
    it.each([
        ["dev", "orders-dev", "10.40.0.30", "10.40.0.31", "10.40.0.50", 18],
        ["prod", "orders", "10.60.1.30", "10.60.1.31", "10.60.1.50", 24],
    ])("%s: unicast VRRP to the peer and a notify_master script that moves the VIP with the EC2 API", (stack, scope, lb1, lb2, vip, prefix) => {
        const run = runs[stack];
        const conf = String(get(run, `${scope}-proxy-keepalived-conf-lb1`).inputs.stdin);
        expect(conf).toContain(`unicast_src_ip ${lb1}`);
        expect(conf).toMatch(new RegExp(`unicast_peer \\{\\n\\s+${lb2.replace(/\./g, "\\.")}\\n\\s+\\}`));
        // The interface is the primary ENI's, found on the host from its MAC, never assumed (ens5, eth0).
        expect(conf).toContain(`${vip}/${prefix} dev $PGHA_INTERFACE`);
        expect(conf).toMatch(/^    interface \$PGHA_INTERFACE$/m);
        expect(conf).toMatch(/^include \/etc\/keepalived\/pgha-interface\.conf$/m);
        const found = get(run, `${scope}-proxy-interface-lb1`);
        expect(String(found.inputs.create)).toContain('mac=$(metadata mac');
        expect(get(run, `${scope}-proxy-keepalived-conf-lb1`).waitsFor).toContain(found.name);
        expect(conf).toContain('notify_master "/etc/keepalived/notify-master.sh"');
        const notify = String(get(run, `${scope}-proxy-notify-master-lb1`).inputs.stdin);
        expect(notify).toContain("X-aws-ec2-metadata-token-ttl-seconds");
        expect(notify).toContain('eni=$(metadata "network/interfaces/macs/$mac/interface-id")');
        expect(notify).toContain(`aws ec2 assign-private-ip-addresses --region "$region" --network-interface-id "$eni" \\\n        --private-ip-addresses '${vip}' --allow-reassignment`);
        expect(notify).toContain("aws ec2 describe-network-interfaces");
        expect(String(get(run, `${scope}-proxy-install-lb1`).inputs.create)).toMatch(/install_packages haproxy keepalived curl socat openssl awscli\n/);
        expect(run.outputs.writerEndpoint).toBe(`${vip}:5000`);
    });
});

describe("the NLB front door (staging)", () => {
    const run = () => runs.staging;

    it("is internal, in the private subnets, with listeners 5000 and 5001 and no HAProxy or Keepalived", () => {
        const [nlb] = ofType(run(), "aws:lb/loadBalancer:LoadBalancer");
        expect(nlb.inputs).toMatchObject({ internal: true, loadBalancerType: "network" });
        const subnets = ofType(run(), "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("private")).map((s) => s.outputs.id);
        expect(nlb.inputs.subnets).toEqual(subnets);
        const listeners = ofType(run(), "aws:lb/listener:Listener").map((l) => [l.inputs.port, l.inputs.protocol]);
        expect(listeners).toEqual([[5000, "TCP"], [5001, "TCP"]]);
        expect(run().resources.filter((r) => r.type === "pulumi-patroni:index:HaproxyKeepalived" || r.name.includes("-proxy-"))).toEqual([]);
        expect(run().outputs.writerEndpoint).toBe(`${nlb.outputs.dnsName}:5000`);
        expect(run().outputs.readerEndpoint).toBe(`${nlb.outputs.dnsName}:5001`);
    });

    it("checks Patroni's /primary and /replica on 8008 and targets every Patroni instance", () => {
        const groups = Object.fromEntries(ofType(run(), "aws:lb/targetGroup:TargetGroup").map((g) => [g.name.replace(/^.*-tg-/, ""), g]));
        for (const [pool, path] of [["primary", "/primary"], ["replicas", "/replica"]]) {
            expect(groups[pool].inputs).toMatchObject({ port: 5432, protocol: "TCP", targetType: "instance", healthCheck: { protocol: "HTTP", port: "8008", path, matcher: "200" } });
            const targets = ofType(run(), "aws:lb/targetGroupAttachment:TargetGroupAttachment").filter((a) => a.inputs.targetGroupArn === groups[pool].outputs.arn);
            expect(targets.map((t) => t.inputs.targetId).sort()).toEqual(["pg1", "pg2", "pg3"].map((h) => instances(run()).get(h)!.outputs.id).sort());
        }
        const listener = ofType(run(), "aws:lb/listener:Listener").find((l) => l.inputs.port === 5000)!;
        expect((listener.inputs.defaultActions as Array<{ targetGroupArn: string }>)[0].targetGroupArn).toBe(groups.primary.outputs.arn);
    });

    it("keeps pooled connections: the listeners' TCP idle timeout is an hour, not AWS's 350 s", () => {
        // ELB docs, "Update the TCP idle timeout for your Network Load Balancer listener" (60–6000 s, default 350).
        for (const l of ofType(run(), "aws:lb/listener:Listener")) expect(l.inputs.tcpIdleTimeoutSeconds, String(l.inputs.port)).toBe(NLB_IDLE_TIMEOUT_SEC);
        expect(NLB_IDLE_TIMEOUT_SEC).toBeGreaterThanOrEqual(60);
        expect(NLB_IDLE_TIMEOUT_SEC).toBeLessThanOrEqual(6000);
    });

    it("gates the deployment on the writer endpoint reaching the primary through the NLB, from the first member", () => {
        const gate = get(run(), "orders-staging-aws-nlb-gate");
        const [nlb] = ofType(run(), "aws:lb/loadBalancer:LoadBalancer");
        expect(String(gate.inputs.create)).toContain(`conninfo="host=${nlb.outputs.dnsName} port=5000 user=postgres dbname=postgres connect_timeout=3"`);
        expect(String(gate.inputs.create)).toContain("select pg_is_in_recovery()");
        expect(String(gate.inputs.create)).toContain(`while [ "$streak" -lt ${NLB_GATE_CONSECUTIVE} ]`);
        expect(gate.secretInputPaths.map((p) => p[0])).toContain("stdin");
        expect(String(gate.inputs.create)).not.toContain(String(gate.inputs.stdin).trim());
        expect(gate.waitsFor).toEqual(expect.arrayContaining(["orders-staging-roles", "orders-staging-patroni-replicas", nlb.name]));
        expect(connectionOf(run(), gate.name).host).toBe("10.41.0.20");
    });

    it("fails closed for writers when every target is unhealthy: the NLB then sends to every target (fail-open), so the writer connection string refuses a replica", () => {
        // ELB docs, "Health checks for Network Load Balancer target groups": if all targets fail
        // health checks at once, the NLB fails open. libpq's target_session_attrs=read-write
        // rejects a server in recovery; a hot standby refuses writes on its own.
        expect(String(run().outputs.connectionString)).toMatch(/:5000\/postgres\?sslmode=verify-full&target_session_attrs=read-write$/);
        const groups = ofType(run(), "aws:lb/targetGroup:TargetGroup");
        expect(groups.map((g) => (g.inputs.healthCheck as { path: string }).path)).toEqual(["/primary", "/replica"]);
    });

    it("creates the roles after the replicas gate, through the members directly", () => {
        const roles = get(run(), "orders-staging-roles");
        expect(roles.waitsFor).toContain("orders-staging-patroni-replicas");
        expect(String(roles.inputs.create)).toContain("host=10.41.0.20,10.41.64.20,10.41.128.20 port=5432,5432,5432");
    });

    it("can also be chosen on dev by one setting", async () => {
        const aws = JSON.parse(readStackFile("dev")[A]);
        const result = await plan("dev", { [A]: { ...aws, frontDoor: "nlb" } });
        expect(ofType(result, "aws:lb/targetGroup:TargetGroup")).toHaveLength(2);
        expect(ofType(result, "aws:ec2/networkInterface:NetworkInterface")).toHaveLength(0);
        expect(instances(result).has("lb1")).toBe(false);
    }, 120_000);
});

describe("AWS names", () => {
    /** What AWS receives as the name: the explicit name, else Pulumi's autoname (logical name + suffix). */
    function awsName(r: RecordedResource): { name: string; length: number } {
        const explicit = (r.inputs.name ?? (r.type === "aws:ec2/keyPair:KeyPair" ? r.inputs.keyName : undefined)) as string | undefined;
        return explicit !== undefined ? { name: explicit, length: explicit.length } : { name: `${r.name}-xxxxxxx`, length: r.name.length + AUTONAME_SUFFIX_LENGTH };
    }

    it("every limited name of dev, staging and prod fits its AWS limit", () => {
        for (const [stack, run] of Object.entries(runs)) {
            const limited = run.resources.filter((r) => r.type in AWS_NAME_LIMITS);
            expect(limited.length, stack).toBeGreaterThan(0);
            for (const r of limited) {
                const { name, length } = awsName(r);
                expect(length, `${stack}: ${name} (${r.type})`).toBeLessThanOrEqual(AWS_NAME_LIMITS[r.type as keyof typeof AWS_NAME_LIMITS]);
            }
        }
    });

    it("staging: the load balancer and target groups have short explicit names (the scope and the pool)", () => {
        expect(ofType(runs.staging, "aws:lb/loadBalancer:LoadBalancer").map((r) => r.inputs.name)).toEqual(["orders-staging-nlb"]);
        expect(ofType(runs.staging, "aws:lb/targetGroup:TargetGroup").map((r) => r.inputs.name)).toEqual(["orders-staging-primary", "orders-staging-replicas"]);
    });
});

describe("rolling a new image, one host at a time", () => {
    it("dev: pg3's next generation on a new image replaces pg3 alone: its successor is created, pg3 is deleted, no other host or step changes but those that name the members", async () => {
        const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aws-roll-")), "dev.json");
        const { config, secretKeys } = loadStackConfig("dev");
        const up = (aws: Record<string, unknown>) => runProgram({ programPath: PROGRAM, stack: "dev", config: { ...config, [A]: aws }, secretKeys, mode: "plan", stateFile, timeoutMs: 120_000, onProgramOutput: () => undefined });
        const aws = JSON.parse(readStackFile("dev")[A]);
        await up(aws);
        const rolled = await up({ ...aws, generations: { pg3: 1 }, hostImages: { pg3: "ami-0fedcba9876543210" } });
        const reports = stepReports(rolled);
        const aws_ = (op: string) => reports.filter((r) => r.op === op && r.type.startsWith("aws:")).map((r) => r.name).sort();
        // AWS: the new host's machine comes, the old one's goes; nothing is replaced in place.
        expect(aws_("replace")).toEqual([]);
        expect(aws_("create")).toEqual(["orders-dev-aws-attach-pg3-g1", "orders-dev-aws-data-pg3-g1", "orders-dev-aws-instance-pg3-g1", "orders-dev-aws-reserve-private-2-10-40-128-35-32"]);
        expect(aws_("delete")).toEqual(["orders-dev-aws-attach-pg3", "orders-dev-aws-data-pg3", "orders-dev-aws-instance-pg3", "orders-dev-aws-reserve-private-2-10-40-128-20-32"]);
        expect(get(rolled, "orders-dev-aws-instance-pg3-g1").inputs).toMatchObject({ ami: "ami-0fedcba9876543210", privateIp: "10.40.128.35" });
        for (const h of ["etcd1", "etcd2", "etcd3", "pg1", "pg2", "lb1", "lb2"]) expect(rolled.resources.find((r) => r.name === `orders-dev-aws-instance-${h}`)!.op, h).toBe("same");
        // The cluster: pg3's steps are deleted (its member delete hands over and waits for its slot), pg3-g1's created.
        const cmd = (op: string) => reports.filter((r) => r.op === op && r.type === "command:remote:Command").map((r) => r.name);
        expect(cmd("delete").every((n) => n.endsWith("-pg3")), cmd("delete").join(", ")).toBe(true);
        expect(cmd("delete")).toContain("orders-dev-patroni-start-pg3");
        expect(cmd("create").every((n) => n.endsWith("-pg3-g1")), cmd("create").join(", ")).toBe(true);
        expect(cmd("replace")).toEqual([]);
        // Only what a member change updates anyway: the others' pg_hba (patroni.yml, reload), the
        // balancers' backends, the gates; nothing on etcd.
        expect(cmd("update").sort()).toEqual([
            "orders-dev-patroni-credentials",
            "orders-dev-patroni-dcs-config",
            "orders-dev-patroni-handover",
            "orders-dev-patroni-patroni-yml-pg1",
            "orders-dev-patroni-patroni-yml-pg2",
            "orders-dev-patroni-reload-pg1",
            "orders-dev-patroni-reload-pg2",
            "orders-dev-patroni-replicas",
            "orders-dev-proxy-haproxy-cfg-lb1",
            "orders-dev-proxy-haproxy-cfg-lb2",
            "orders-dev-proxy-start-lb1",
            "orders-dev-proxy-start-lb2",
            "orders-dev-proxy-vip",
            "orders-dev-roles",
        ]);
    }, 240_000);
});

describe("every stack file", () => {
    it.each(["lab", "onprem-rhel"])("%s still runs, creating nothing on AWS", async (stack) => {
        const result = await plan(stack);
        expect(result.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
        expect(result.outputs.aws).toBeUndefined();
    }, 120_000);

    it("prod (existing subnets) exports the address blocks its subnets' owner must reserve", () => {
        const reservations = (runs.prod.outputs.aws as { addressReservations: Array<{ subnet: string; cidr: string; createdHere: boolean }> }).addressReservations;
        expect(reservations).toContainEqual({ subnet: "subnet-0aaaaaaaaaaaaaaa1", cidr: "10.60.1.30/31", createdHere: false });
        expect(reservations).toContainEqual({ subnet: "subnet-0aaaaaaaaaaaaaaa1", cidr: "10.60.1.50/32", createdHere: false });
        expect(reservations).toContainEqual({ subnet: "subnet-0ddddddddddddddd4", cidr: "10.60.100.10/32", createdHere: false });
        expect(reservations.every((r) => !r.createdHere)).toBe(true);
    });

    it("dev, staging and prod run and export the AWS outputs", () => {
        for (const [stack, run] of Object.entries(runs)) {
            expect(run.outputs.aws, stack).toMatchObject({ vpcId: expect.stringMatching(/^vpc-/), instanceIds: expect.objectContaining({ pg1: expect.stringMatching(/^i-/) }) });
            expect(run.resources.find((r) => r.type === "pulumi-patroni:index:AwsHosts"), stack).toBeDefined();
        }
    });
});
