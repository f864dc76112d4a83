/** Validation of `pulumi-patroni:aws`: pure, every issue naming the setting, the value and the fix. */
import { DEFAULT_OS } from "../../model/resolve";
import { inSubnet, ipv4ToInt, isIpv4, isIpv4Cidr } from "../../model/net";
import { anywhereIssue, checkShape, isAnywhere, type ValidationIssue } from "../../model/validate";
import { validateAwsBackup } from "./backup";
import { AWS_IMAGES } from "./images";
import { validateAwsNames, validateAwsTags } from "./names";
import { ADDRESS_OFFSETS, addressAt, cidrParts, intToIpv4, planAwsCluster } from "./plan";
import { AWS_SCHEMA, DEFAULT_VPC_CIDR, resolveAwsSpec, type AwsSpec, type AwsSubnetSpec, type ResolvedAws } from "./spec";

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SG_ID = /^sg-[0-9a-f]{8,17}$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/**
 * Checks `pulumi-patroni:aws` and the parts of `pulumi-patroni:cluster` an AWS stack must not write
 * (its hosts, VIP and front door are planned here), and every AWS name built from the scope
 * (`cluster.scope`, else `defaultScope`: the stack name). `root` and `clusterRoot` are the settings' paths.
 */
export function validateAwsSpec(spec: unknown, cluster: Record<string, unknown> | undefined, root = "aws", clusterRoot = "cluster", defaultScope?: string): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    if (spec === undefined || spec === null) {
        return [{ setting: root, value: spec, rule: "is required with provider aws", fix: `describe the instances under ${root} (see stacks/Pulumi.dev.yaml): at least ssh.keyName or ssh.publicKey, and adminCidrs` }];
    }
    const shape = checkShape(spec, AWS_SCHEMA, root);
    if (shape.length > 0) return shape;
    const s = spec as AwsSpec;
    const a = resolveAwsSpec(s);

    if (cluster) {
        if (cluster.hosts !== undefined) {
            issues.push({ setting: `${clusterRoot}.hosts`, value: "(hosts)", rule: "is planned by the program on AWS (names and private addresses follow the subnets)", fix: `remove ${clusterRoot}.hosts; set member counts with ${root}.members` });
        }
        const keepalived = cluster.keepalived as Record<string, unknown> | undefined;
        if (keepalived?.vip !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived.vip`, value: keepalived.vip, rule: "is planned by the program on AWS (an address of the HAProxy subnet)", fix: `remove it; to choose the address yourself set ${root}.vip` });
        }
        if (keepalived?.moveVipWith !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived.moveVipWith`, value: keepalived.moveVipWith, rule: "is always aws-secondary-ip on AWS (a VPC delivers an address only to the ENI it is assigned to)", fix: "remove it" });
        }
        if (keepalived?.interface !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived.interface`, value: keepalived.interface, rule: "is found on AWS from the instance's MAC (the primary ENI's interface, which the VIP is assigned to)", fix: "remove it" });
        }
        if (keepalived?.vipPrefixLength !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived.vipPrefixLength`, value: keepalived.vipPrefixLength, rule: "follows the HAProxy subnet on AWS", fix: "remove it" });
        }
        if (cluster.frontDoor !== undefined) {
            issues.push({ setting: `${clusterRoot}.frontDoor`, value: cluster.frontDoor, rule: "follows the AWS front door on AWS", fix: `remove it; choose with ${root}.frontDoor: vip or nlb` });
        }
        if (a.frontDoor === "nlb" && keepalived !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived`, value: keepalived, rule: "has no effect with the nlb front door (no Keepalived)", fix: `remove it, or set ${root}.frontDoor: vip` });
        }
        const scope = cluster.scope ?? defaultScope;
        const backups = (cluster.backup as { enabled?: boolean } | undefined)?.enabled === true;
        if (typeof scope === "string") issues.push(...validateAwsNames(scope, a, `${clusterRoot}.scope`, backups));
        issues.push(...validateAwsBackup(cluster, clusterRoot));
        const os = (cluster.os ?? DEFAULT_OS) as string;
        if (!(os in AWS_IMAGES)) {
            issues.push({ setting: `${clusterRoot}.os`, value: os, rule: "has no AMI lookup on AWS", fix: `use one of ${Object.keys(AWS_IMAGES).join(", ")}` });
        }
    }

    // The VPC: created (a CIDR) or existing (an id and its subnets), never both.
    const vpc = s.vpc ?? {};
    if (vpc.vpcId === undefined) {
        if (vpc.subnets !== undefined || vpc.bastionSubnet !== undefined) {
            issues.push({ setting: `${root}.vpc.vpcId`, value: undefined, rule: "is required with vpc.subnets or vpc.bastionSubnet", fix: `set ${root}.vpc.vpcId to the subnets' VPC, or remove the subnets to have a VPC created` });
        }
        const cidr = vpc.cidr ?? DEFAULT_VPC_CIDR;
        if (!isIpv4Cidr(cidr)) {
            issues.push({ setting: `${root}.vpc.cidr`, value: cidr, rule: "is not an IPv4 CIDR", fix: "write it as a.b.c.d/n, e.g. 10.40.0.0/16" });
        } else {
            const prefix = Number(cidr.split("/")[1]);
            if (prefix < 16 || prefix > 24) {
                issues.push({ setting: `${root}.vpc.cidr`, value: cidr, rule: "must be a /16 to /24 (AWS allows no larger VPC; a smaller one leaves subnets under 64 addresses)", fix: "use e.g. 10.40.0.0/16" });
            } else if (cidrParts(cidr).base !== ipv4ToInt(cidr.split("/")[0])) {
                issues.push({ setting: `${root}.vpc.cidr`, value: cidr, rule: "has host bits set", fix: `use ${intToIpv4(cidrParts(cidr).base)}/${prefix}` });
            }
        }
        if (a.vpc.kind === "create" && (a.vpc.availabilityZones < 1 || a.vpc.availabilityZones > 3)) {
            issues.push({ setting: `${root}.availabilityZones`, value: a.vpc.availabilityZones, rule: "must be 1, 2 or 3", fix: "use 3 for a cluster that survives the loss of a zone" });
        }
    } else {
        if (vpc.cidr !== undefined) {
            issues.push({ setting: `${root}.vpc.cidr`, value: vpc.cidr, rule: "is only used for a VPC the program creates, not with vpc.vpcId", fix: `remove ${root}.vpc.cidr, or remove ${root}.vpc.vpcId and the subnets` });
        }
        if (s.availabilityZones !== undefined) {
            issues.push({ setting: `${root}.availabilityZones`, value: s.availabilityZones, rule: "follows vpc.subnets with an existing VPC", fix: "remove it: one subnet per availability zone" });
        }
        if (!VPC_ID.test(vpc.vpcId)) {
            issues.push({ setting: `${root}.vpc.vpcId`, value: vpc.vpcId, rule: "is not a VPC id", fix: "write it as vpc-0123456789abcdef0" });
        }
        const subnets = vpc.subnets ?? [];
        if (subnets.length < 1 || subnets.length > 3) {
            issues.push({ setting: `${root}.vpc.subnets`, value: subnets.length, rule: "needs 1 to 3 private subnets, one per availability zone", fix: "list the private subnets of up to three zones: {id, cidr, availabilityZone}" });
        }
        const zones = new Map<string, number>();
        const checkSubnet = (sub: AwsSubnetSpec, at: string) => {
            if (!SUBNET_ID.test(sub.id)) issues.push({ setting: `${at}.id`, value: sub.id, rule: "is not a subnet id", fix: "write it as subnet-0123456789abcdef0" });
            if (!isIpv4Cidr(sub.cidr)) {
                issues.push({ setting: `${at}.cidr`, value: sub.cidr, rule: "is not an IPv4 CIDR", fix: "copy the subnet's IPv4 CIDR, e.g. 10.0.1.0/24" });
            } else if (Number(sub.cidr.split("/")[1]) > 26) {
                issues.push({ setting: `${at}.cidr`, value: sub.cidr, rule: "is smaller than /26: the planned addresses (base + 10 to base + 50) do not fit", fix: "use subnets of /26 or larger" });
            }
        };
        subnets.forEach((sub, i) => {
            checkSubnet(sub, `${root}.vpc.subnets[${i}]`);
            const first = zones.get(sub.availabilityZone);
            if (first !== undefined) {
                issues.push({ setting: `${root}.vpc.subnets[${i}].availabilityZone`, value: sub.availabilityZone, rule: `is also the zone of ${root}.vpc.subnets[${first}]: members would share a zone`, fix: "give one subnet per availability zone" });
            } else zones.set(sub.availabilityZone, i);
        });
        if (vpc.bastionSubnet) checkSubnet(vpc.bastionSubnet, `${root}.vpc.bastionSubnet`);
        if (a.ssh.access === "bastion" && !vpc.bastionSubnet) {
            issues.push({ setting: `${root}.vpc.bastionSubnet`, value: undefined, rule: "is required with an existing VPC and ssh.access bastion", fix: `name a public subnet of the VPC for the bastion, or set ${root}.ssh.access: public` });
        }
    }

    // SSH: one key source, a way in, and never from anywhere.
    if ((s.ssh.keyName === undefined) === (s.ssh.publicKey === undefined)) {
        issues.push({ setting: `${root}.ssh`, value: { keyName: s.ssh.keyName, publicKey: s.ssh.publicKey === undefined ? undefined : "(set)" }, rule: "needs exactly one of keyName (an existing EC2 key pair) and publicKey", fix: `set ${root}.ssh.keyName, or ${root}.ssh.publicKey to an OpenSSH public key` });
    }
    if (s.ssh.publicKey !== undefined && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$/.test(s.ssh.publicKey.trim())) {
        issues.push({ setting: `${root}.ssh.publicKey`, value: s.ssh.publicKey.slice(0, 24), rule: "is not an OpenSSH public key", fix: "paste the .pub file's line, e.g. ssh-ed25519 AAAA... you@host" });
    }
    if (a.adminCidrs.length === 0) {
        issues.push({ setting: `${root}.adminCidrs`, value: [], rule: "is empty: nothing could reach SSH or the stats page", fix: "list the CIDRs of your workstation, VPN or pipeline runners, e.g. 203.0.113.7/32" });
    }
    const checkCidrs = (list: string[], at: string, world: (cidr: string, setting: string) => ValidationIssue | undefined) =>
        list.forEach((cidr, i) => {
            if (!isIpv4Cidr(cidr)) {
                issues.push({ setting: `${at}[${i}]`, value: cidr, rule: "is not an IPv4 CIDR", fix: "write it as a.b.c.d/n, e.g. 10.0.0.0/16" });
            } else if (isAnywhere(cidr)) {
                const issue = world(cidr, `${at}[${i}]`);
                if (issue) issues.push(issue);
            }
        });
    checkCidrs(a.adminCidrs, `${root}.adminCidrs`, (cidr, setting) => ({ setting, value: cidr, rule: "opens SSH and the stats page to the whole internet", fix: "list your own addresses (office, VPN, runners), or use the bastion" }));
    // Clients from anywhere are a decision, as in the cluster's own pg_hba: the same opt-in.
    checkCidrs(a.clientCidrs, `${root}.clientCidrs`, (cidr, setting) => (cluster?.allowClientsFromAnywhere === true ? undefined : anywhereIssue(setting, cidr, cidr, clusterRoot)));
    a.clientSecurityGroupIds.forEach((id, i) => {
        if (!SG_ID.test(id)) issues.push({ setting: `${root}.clientSecurityGroupIds[${i}]`, value: id, rule: "is not a security group id", fix: "write it as sg-0123456789abcdef0" });
    });

    issues.push(...validateAwsTags(a.tags, `${root}.tags`));

    // Generations and per-host images: by the base names the plan gives.
    const baseNames = [
        ...Array.from({ length: a.members.etcd }, (_, i) => `etcd${i + 1}`),
        ...Array.from({ length: a.members.patroni }, (_, i) => `pg${i + 1}`),
        ...(a.frontDoor === "vip" ? ["lb1", "lb2"] : []),
    ];
    const checkHostKeys = (map: Record<string, unknown> | undefined, at: string, check: (value: unknown, setting: string) => void) => {
        for (const [name, value] of Object.entries(map ?? {})) {
            if (!baseNames.includes(name)) issues.push({ setting: `${at}.${name}`, value: name, rule: "names no host of this stack", fix: `use one of ${baseNames.join(", ")} (the base name, without -g<generation>)` });
            else check(value, `${at}.${name}`);
        }
    };
    checkHostKeys(s.generations, `${root}.generations`, (value, setting) => {
        if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 99) issues.push({ setting, value, rule: "must be an integer from 0 to 99", fix: "raise it by one to replace the host, e.g. 1" });
    });
    checkHostKeys(s.hostImages, `${root}.hostImages`, (value, setting) => {
        if (typeof value !== "string" || !AMI_ID.test(value)) issues.push({ setting, value, rule: "is not an AMI id", fix: "write it as ami-0123456789abcdef0 (an image of cluster.os in the stack's region)" });
    });

    // Sizes.
    if (a.members.etcd !== 3 && a.members.etcd !== 5) {
        issues.push({ setting: `${root}.members.etcd`, value: a.members.etcd, rule: "must be 3 or 5 (an odd quorum spread over the zones)", fix: "use 3, or 5 for two failures" });
    }
    if (a.members.patroni < 2 || a.members.patroni > 9) {
        issues.push({ setting: `${root}.members.patroni`, value: a.members.patroni, rule: "must be between 2 and 9", fix: "use 3: a leader, a synchronous standby and a replica" });
    }
    for (const [role, type] of Object.entries(a.instanceTypes)) {
        if (!INSTANCE_TYPE.test(type)) issues.push({ setting: `${root}.instanceTypes.${role}`, value: type, rule: "is not an EC2 instance type", fix: "write it as family.size, e.g. m6i.large" });
        else if ((a.architecture === "arm64") !== /^[a-z]+\d+[a-z]*g[a-z]*\./.test(type)) {
            issues.push({ setting: `${root}.instanceTypes.${role}`, value: type, rule: `does not match architecture ${a.architecture} (Graviton types have a g after the generation, e.g. m7g)`, fix: a.architecture === "arm64" ? "use a Graviton type such as t4g.small, or set architecture: x86_64" : "use an x86 type such as t3.small, or set architecture: arm64" });
        }
    }
    if (a.image !== undefined && !AMI_ID.test(a.image)) {
        issues.push({ setting: `${root}.image`, value: a.image, rule: "is not an AMI id", fix: "write it as ami-0123456789abcdef0 (an image of cluster.os in the stack's region), or remove it to use the newest one" });
    }
    const range = (name: Exclude<keyof ResolvedAws["volumes"], "deleteWithStack">, min: number, max: number, fix: string) => {
        const value = a.volumes[name];
        if (value < min || value > max) issues.push({ setting: `${root}.volumes.${name}`, value, rule: `must be between ${min} and ${max}`, fix });
    };
    range("patroniGiB", 10, 16384, "size the PostgreSQL volume for the data plus WAL, e.g. 100");
    range("etcdGiB", 8, 16384, "use 20: etcd's database stays small");
    range("patroniIops", 3000, 16000, "use 3000 (gp3's baseline) or more");
    range("patroniThroughputMiBps", 125, 1000, "use 125 (gp3's baseline) or more");
    range("rootGiB", 8, 1024, "use 16");
    if (a.volumes.patroniThroughputMiBps > a.volumes.patroniIops / 4) {
        issues.push({ setting: `${root}.volumes.patroniThroughputMiBps`, value: a.volumes.patroniThroughputMiBps, rule: `gp3 allows at most 0.25 MiB/s per provisioned IOPS (${a.volumes.patroniIops / 4} here)`, fix: "raise patroniIops or lower the throughput" });
    }

    // The VIP, when the user names it: inside the HAProxy subnet, clear of AWS's reserved and planned addresses.
    if (a.vip !== undefined) {
        if (a.frontDoor !== "vip") {
            issues.push({ setting: `${root}.vip`, value: a.vip, rule: "has no use with the nlb front door", fix: `remove it, or set ${root}.frontDoor: vip` });
        } else if (!isIpv4(a.vip)) {
            issues.push({ setting: `${root}.vip`, value: a.vip, rule: "is not an IPv4 address", fix: "write it as a.b.c.d, a free address of the first private subnet" });
        } else if (issues.length === 0) {
            const plan = planAwsCluster(a, {});
            const first = plan.subnets[0].cidr;
            const { base, prefix } = cidrParts(first);
            const offset = ipv4ToInt(a.vip) - base;
            if (!inSubnet(a.vip, first.split("/")[0], prefix)) {
                issues.push({ setting: `${root}.vip`, value: a.vip, rule: `is outside the HAProxy subnet ${first}`, fix: `choose an address in ${first}` });
            } else if (offset < 4 || offset === 2 ** (32 - prefix) - 1) {
                issues.push({ setting: `${root}.vip`, value: a.vip, rule: "is one of the addresses AWS reserves in every subnet (the first four and the last)", fix: `use e.g. ${addressAt(first, ADDRESS_OFFSETS.vip)}` });
            } else if (plan.hosts.some((h) => h.address === a.vip)) {
                issues.push({ setting: `${root}.vip`, value: a.vip, rule: `is the planned address of ${plan.hosts.find((h) => h.address === a.vip)!.name}`, fix: `use e.g. ${addressAt(first, ADDRESS_OFFSETS.vip)}` });
            }
        }
    }
    return issues;
}
