/**
 * The AWS layer of the model: what a user writes under `pulumi-patroni:aws` (`AwsSpec`), its
 * defaults (`resolveAwsSpec`), its validation (`validateAwsSpec`) and the address plan
 * (`planAwsCluster`): every subnet CIDR, host address and the VIP are chosen here, before anything
 * exists, so the cluster spec the rest of the model sees is complete and static. No Pulumi imports.
 */
import { DEFAULT_OS } from "./resolve";
import { inSubnet, ipv4ToInt, isIpv4, isIpv4Cidr } from "./net";
import { checkShape, type Schema, type ValidationIssue } from "./validate";
import type { ClusterHosts, ClusterSpec, HostSpec, OsRelease } from "./types";

/** The releases AwsHosts finds an AMI for. */
export type AwsOs = "debian12" | "debian13" | "ubuntu24.04" | "rocky9";

/** CPU architecture of every instance (the AMI and the default instance types follow it). */
export type AwsArchitecture = "x86_64" | "arm64";

/** A subnet that already exists. */
export interface AwsSubnetSpec {
    /** Subnet id, `subnet-...`. */
    id: string;
    /** Its IPv4 CIDR: host addresses are picked inside it (the 10th to the 51st address must be free). */
    cidr: string;
    /** Its availability zone, e.g. `eu-west-1a`. */
    availabilityZone: string;
}

/** Where the cluster lives: a VPC this program creates, or subnets that exist. */
export interface AwsVpcSpec {
    /**
     * CIDR of a VPC to create (/16 to /24), carved into four equal subnets: one private subnet per
     * availability zone (up to three) and one public subnet for the bastion and the NAT gateway.
     * Not with `vpcId`.
     * @default "10.40.0.0/16" when `vpcId` is not set
     */
    cidr?: string;
    /** An existing VPC, `vpc-...`; then `subnets` is required. @default - a VPC is created */
    vpcId?: string;
    /**
     * Existing private subnets, one per availability zone (1–3). etcd and Patroni member i go to
     * subnet i (mod their count); both HAProxy hosts go to the first one (the VIP moves inside one subnet).
     * @default - none: only with `vpcId`
     */
    subnets?: AwsSubnetSpec[];
    /**
     * An existing public subnet for the bastion (with `vpcId` and `ssh.access: bastion`).
     * @default - none
     */
    bastionSubnet?: AwsSubnetSpec;
}

/** How the program (your workstation or the pipeline) reaches the hosts over SSH. */
export interface AwsSshSpec {
    /**
     * `bastion`: hosts have private addresses only, reached through a bastion in the public subnet
     * (the @pulumi/command connection `proxy`). `public`: every host gets a public IP (no bastion).
     * @default "bastion"
     */
    access?: "bastion" | "public";
    /** An existing EC2 key pair. Either this or `publicKey`. @default - none */
    keyName?: string;
    /** An OpenSSH public key; an EC2 key pair is created from it. Either this or `keyName`. @default - none */
    publicKey?: string;
}

/** Instance type of each role. */
export interface AwsInstanceTypes {
    /** @default "t3.small" ("t4g.small" on arm64) */
    etcd?: string;
    /** @default "m6i.large" ("m7g.large" on arm64) */
    patroni?: string;
    /** @default "t3.small" ("t4g.small" on arm64) */
    haproxy?: string;
    /** @default "t3.micro" ("t4g.micro" on arm64) */
    bastion?: string;
}

/** The encrypted gp3 data volumes. */
export interface AwsVolumes {
    /** PostgreSQL data volume of each Patroni member, mounted at the postgres home. @default 100 */
    patroniGiB?: number;
    /** etcd data volume of each member, mounted at /var/lib/etcd. @default 20 */
    etcdGiB?: number;
    /** Provisioned IOPS of the PostgreSQL volumes (gp3: 3000–16000). @default 3000 */
    patroniIops?: number;
    /** Provisioned throughput of the PostgreSQL volumes in MiB/s (gp3: 125–1000). @default 125 */
    patroniThroughputMiBps?: number;
    /** Root volume size of every instance. @default 16 */
    rootGiB?: number;
}

/** Member counts (AwsHosts names them etcd1.., pg1.., lb1, lb2). */
export interface AwsMembers {
    /** etcd members: 3 or 5. @default 3 */
    etcd?: number;
    /** Patroni members. @default 3 */
    patroni?: number;
}

/** Everything under `pulumi-patroni:aws`. The region is the provider's own `aws:region`. */
export interface AwsSpec {
    /** The VPC to create, or the existing one. @default - a VPC 10.40.0.0/16 is created */
    vpc?: AwsVpcSpec;
    /** Availability zones to spread over when the VPC is created (1–3). @default 3 */
    availabilityZones?: number;
    /** @default "x86_64" */
    architecture?: AwsArchitecture;
    /** @default - see AwsMembers */
    members?: AwsMembers;
    /** @default - see AwsInstanceTypes */
    instanceTypes?: AwsInstanceTypes;
    /** @default - see AwsVolumes */
    volumes?: AwsVolumes;
    /** SSH access and key. */
    ssh: AwsSshSpec;
    /** CIDRs of the people and pipelines administering the cluster: SSH (to the bastion, or to every host with public access) and the HAProxy stats port. */
    adminCidrs: string[];
    /** CIDRs allowed to the front door's writer and reader ports (5000/5001). @default [] */
    clientCidrs?: string[];
    /** Security groups allowed to the front door's writer and reader ports. @default [] */
    clientSecurityGroupIds?: string[];
    /**
     * `vip`: two HAProxy + Keepalived instances and a VIP moved between them as a secondary private
     * IP. `nlb`: an internal Network Load Balancer whose target groups check Patroni's /primary and
     * /replica; no HAProxy instances.
     * @default "vip"
     */
    frontDoor?: "vip" | "nlb";
    /** The VIP, a free address in the first private subnet. @default - the subnet's 51st address (base + 50) */
    vip?: string;
    /** Tags on every resource (with `Name` and `pulumi-patroni:*` tags added). @default {} */
    tags?: Record<string, string>;
}

export const AWS_SCHEMA: Schema = (() => {
    const subnet: Schema = { id: "string", cidr: "string", availabilityZone: "string" };
    return {
        "vpc?": { "cidr?": "string", "vpcId?": "string", "subnets?": [subnet], "bastionSubnet?": subnet },
        "availabilityZones?": "integer",
        "architecture?": { enum: ["x86_64", "arm64"] },
        "members?": { "etcd?": "integer", "patroni?": "integer" },
        "instanceTypes?": { "etcd?": "string", "patroni?": "string", "haproxy?": "string", "bastion?": "string" },
        "volumes?": { "patroniGiB?": "integer", "etcdGiB?": "integer", "patroniIops?": "integer", "patroniThroughputMiBps?": "integer", "rootGiB?": "integer" },
        ssh: { "access?": { enum: ["bastion", "public"] }, "keyName?": "string", "publicKey?": "string" },
        adminCidrs: ["string"],
        "clientCidrs?": ["string"],
        "clientSecurityGroupIds?": ["string"],
        "frontDoor?": { enum: ["vip", "nlb"] },
        "vip?": "string",
        "tags?": "scalarMap",
    };
})();

/** Facts per release: where its AMI comes from, who logs in, what the first NIC is called. */
export interface AwsImage {
    /** AMI owner account (the distribution's own). */
    owner: string;
    /** `name` filter of the AMI lookup, newest match wins. */
    namePattern: Record<AwsArchitecture, string>;
    /** The image's default login user (the bastion is reached as this user). */
    loginUser: string;
    /** Name of the primary network interface on Nitro instances (Keepalived's interface). */
    interface: string;
}

export const AWS_IMAGES: Record<AwsOs, AwsImage> = {
    debian12: {
        owner: "136693071363",
        namePattern: { x86_64: "debian-12-amd64-*", arm64: "debian-12-arm64-*" },
        loginUser: "admin",
        interface: "ens5",
    },
    debian13: {
        owner: "136693071363",
        namePattern: { x86_64: "debian-13-amd64-*", arm64: "debian-13-arm64-*" },
        loginUser: "admin",
        interface: "ens5",
    },
    "ubuntu24.04": {
        owner: "099720109477",
        namePattern: {
            x86_64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
            arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
        },
        loginUser: "ubuntu",
        interface: "ens5",
    },
    rocky9: {
        owner: "792107900819",
        namePattern: { x86_64: "Rocky-9-EC2-Base-9.*.x86_64", arm64: "Rocky-9-EC2-Base-9.*.aarch64" },
        loginUser: "rocky",
        // Rocky's cloud images boot with net.ifnames=0.
        interface: "eth0",
    },
};

/** `AwsSpec` with every default applied. */
export interface ResolvedAws {
    vpc: { kind: "create"; cidr: string; availabilityZones: number } | { kind: "existing"; vpcId: string; subnets: AwsSubnetSpec[]; bastionSubnet: AwsSubnetSpec | undefined };
    architecture: AwsArchitecture;
    members: Required<AwsMembers>;
    instanceTypes: Required<AwsInstanceTypes>;
    volumes: Required<AwsVolumes>;
    ssh: { access: "bastion" | "public"; keyName: string | undefined; publicKey: string | undefined };
    adminCidrs: string[];
    clientCidrs: string[];
    clientSecurityGroupIds: string[];
    frontDoor: "vip" | "nlb";
    vip: string | undefined;
    tags: Record<string, string>;
}

export const DEFAULT_VPC_CIDR = "10.40.0.0/16";

const DEFAULT_INSTANCE_TYPES: Record<AwsArchitecture, Required<AwsInstanceTypes>> = {
    x86_64: { etcd: "t3.small", patroni: "m6i.large", haproxy: "t3.small", bastion: "t3.micro" },
    arm64: { etcd: "t4g.small", patroni: "m7g.large", haproxy: "t4g.small", bastion: "t4g.micro" },
};

/** Apply every default. Call `validateAwsSpec` first: resolving does not check anything. */
export function resolveAwsSpec(spec: AwsSpec): ResolvedAws {
    const architecture = spec.architecture ?? "x86_64";
    const types = spec.instanceTypes ?? {};
    const defaults = DEFAULT_INSTANCE_TYPES[architecture];
    const v = spec.volumes ?? {};
    return {
        vpc:
            spec.vpc?.vpcId !== undefined
                ? { kind: "existing", vpcId: spec.vpc.vpcId, subnets: spec.vpc.subnets ?? [], bastionSubnet: spec.vpc.bastionSubnet }
                : { kind: "create", cidr: spec.vpc?.cidr ?? DEFAULT_VPC_CIDR, availabilityZones: spec.availabilityZones ?? 3 },
        architecture,
        members: { etcd: spec.members?.etcd ?? 3, patroni: spec.members?.patroni ?? 3 },
        instanceTypes: {
            etcd: types.etcd ?? defaults.etcd,
            patroni: types.patroni ?? defaults.patroni,
            haproxy: types.haproxy ?? defaults.haproxy,
            bastion: types.bastion ?? defaults.bastion,
        },
        volumes: {
            patroniGiB: v.patroniGiB ?? 100,
            etcdGiB: v.etcdGiB ?? 20,
            patroniIops: v.patroniIops ?? 3000,
            patroniThroughputMiBps: v.patroniThroughputMiBps ?? 125,
            rootGiB: v.rootGiB ?? 16,
        },
        ssh: { access: spec.ssh.access ?? "bastion", keyName: spec.ssh.keyName, publicKey: spec.ssh.publicKey },
        adminCidrs: spec.adminCidrs,
        clientCidrs: spec.clientCidrs ?? [],
        clientSecurityGroupIds: spec.clientSecurityGroupIds ?? [],
        frontDoor: spec.frontDoor ?? "vip",
        vip: spec.vip,
        tags: Object.fromEntries(Object.entries(spec.tags ?? {}).map(([k, val]) => [k, String(val)])),
    };
}

// ---------------------------------------------------------------------------------------------
// The address plan.
// ---------------------------------------------------------------------------------------------

/** A private subnet of the plan: created (CIDR carved from the VPC) or existing. */
export interface PlannedSubnet {
    /** 0, 1, 2: the availability zone index. */
    index: number;
    cidr: string;
    /** The existing subnet's id and AZ; absent for a subnet to create (its AZ is the index-th available one). */
    existing?: AwsSubnetSpec;
}

/** A host of the plan: its role, name, private address and subnet. */
export interface PlannedHost {
    role: "etcd" | "patroni" | "haproxy";
    name: string;
    address: string;
    /** Index into `AwsPlan.subnets`. */
    subnet: number;
}

export interface AwsPlan {
    /** The private subnets, one per availability zone. */
    subnets: PlannedSubnet[];
    /** The public subnet (bastion, NAT gateway) of a created VPC. @default - none for an existing VPC */
    publicSubnetCidr: string | undefined;
    /** Every cluster host, in role order. */
    hosts: PlannedHost[];
    /** The bastion's private address (with `ssh.access: bastion`). */
    bastionAddress: string | undefined;
    /** The VIP (front door vip). */
    vip: string | undefined;
    /** The cluster spec with its hosts, front door and VIP filled in: what the rest of the model sees. */
    clusterSpec: ClusterSpec;
}

/** Offsets of host addresses inside their subnet (AWS reserves the first four and the last). */
export const ADDRESS_OFFSETS = { etcd: 10, patroni: 20, haproxy: 30, vip: 50, bastion: 10 } as const;

function intToIpv4(n: number): string {
    return [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join(".");
}

function cidrParts(cidr: string): { base: number; prefix: number } {
    const [ip, prefix] = cidr.split("/");
    const p = Number(prefix);
    const size = 2 ** (32 - p);
    return { base: Math.floor(ipv4ToInt(ip) / size) * size, prefix: p };
}

/** The `offset`-th address of a CIDR. */
export function addressAt(cidr: string, offset: number): string {
    return intToIpv4(cidrParts(cidr).base + offset);
}

/** A created VPC's CIDR in four equal subnets: private 0..2, public 3. */
export function carveSubnets(vpcCidr: string): { private: string[]; public: string } {
    const { base, prefix } = cidrParts(vpcCidr);
    const size = 2 ** (32 - (prefix + 2));
    const at = (i: number) => `${intToIpv4(base + i * size)}/${prefix + 2}`;
    return { private: [at(0), at(1), at(2)], public: at(3) };
}

/**
 * Where everything goes: etcd member i and Patroni member i in subnet i (mod the subnet count),
 * both HAProxy hosts in subnet 0 with the VIP, the bastion in the public subnet. Addresses are the
 * subnet's base + a fixed offset per role (+ the member's round when members outnumber subnets).
 * `cluster` is the user's `pulumi-patroni:cluster` without hosts; validate both first.
 */
export function planAwsCluster(aws: ResolvedAws, cluster: Omit<ClusterSpec, "hosts"> & { hosts?: unknown }, os: OsRelease = cluster.os ?? DEFAULT_OS): AwsPlan {
    const carved = aws.vpc.kind === "create" ? carveSubnets(aws.vpc.cidr) : undefined;
    const subnets: PlannedSubnet[] =
        aws.vpc.kind === "create"
            ? carved!.private.slice(0, aws.vpc.availabilityZones).map((cidr, index) => ({ index, cidr }))
            : aws.vpc.subnets.map((s, index) => ({ index, cidr: s.cidr, existing: s }));
    const n = subnets.length;
    const hosts: PlannedHost[] = [];
    const place = (role: PlannedHost["role"], prefix: string, count: number, offset: number, spread: boolean) => {
        for (let i = 0; i < count; i++) {
            const subnet = spread ? i % n : 0;
            const round = spread ? Math.floor(i / n) : i;
            hosts.push({ role, name: `${prefix}${i + 1}`, address: addressAt(subnets[subnet].cidr, offset + round), subnet });
        }
    };
    place("etcd", "etcd", aws.members.etcd, ADDRESS_OFFSETS.etcd, true);
    place("patroni", "pg", aws.members.patroni, ADDRESS_OFFSETS.patroni, true);
    if (aws.frontDoor === "vip") place("haproxy", "lb", 2, ADDRESS_OFFSETS.haproxy, false);
    const vip = aws.frontDoor === "vip" ? (aws.vip ?? addressAt(subnets[0].cidr, ADDRESS_OFFSETS.vip)) : undefined;

    const bastionCidr = aws.vpc.kind === "create" ? carved!.public : aws.vpc.bastionSubnet?.cidr;
    const bastionAddress = aws.ssh.access === "bastion" && bastionCidr ? addressAt(bastionCidr, ADDRESS_OFFSETS.bastion) : undefined;

    const asSpec = (role: PlannedHost["role"]): HostSpec[] => hosts.filter((h) => h.role === role).map((h) => ({ name: h.name, address: h.address }));
    const clusterHosts: ClusterHosts = { etcd: asSpec("etcd"), patroni: asSpec("patroni"), haproxy: asSpec("haproxy") };
    const { hosts: _userHosts, keepalived: userKeepalived, ...rest } = cluster;
    const clusterSpec: ClusterSpec = {
        ...rest,
        hosts: clusterHosts,
        ...(aws.frontDoor === "vip"
            ? {
                  frontDoor: "vip" as const,
                  keepalived: {
                      ...userKeepalived,
                      vip: vip!,
                      vipPrefixLength: cidrParts(subnets[0].cidr).prefix,
                      interface: userKeepalived?.interface ?? AWS_IMAGES[os as AwsOs]?.interface ?? "ens5",
                      moveVipWith: "aws-secondary-ip" as const,
                  },
              }
            : {
                  frontDoor: "external" as const,
                  // The NLB connects from its own addresses in the private subnets (client IP
                  // preservation is off, so that clients named by security group work too).
                  clientCidrs: [...(cluster.clientCidrs ?? []), ...subnets.map((s) => s.cidr).filter((c) => !(cluster.clientCidrs ?? []).includes(c))],
              }),
    };
    return { subnets, publicSubnetCidr: carved?.public, hosts, bastionAddress, vip, clusterSpec };
}

// ---------------------------------------------------------------------------------------------
// Validation: pure, every issue naming the setting, the value and the fix.
// ---------------------------------------------------------------------------------------------

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SG_ID = /^sg-[0-9a-f]{8,17}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/**
 * Checks `pulumi-patroni:aws` and the parts of `pulumi-patroni:cluster` an AWS stack must not write
 * (its hosts, VIP and front door are planned here). `root` and `clusterRoot` are the settings' paths.
 */
export function validateAwsSpec(spec: unknown, cluster: Record<string, unknown> | undefined, root = "aws", clusterRoot = "cluster"): ValidationIssue[] {
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
        if (keepalived?.vipPrefixLength !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived.vipPrefixLength`, value: keepalived.vipPrefixLength, rule: "follows the HAProxy subnet on AWS", fix: "remove it" });
        }
        if (cluster.frontDoor !== undefined) {
            issues.push({ setting: `${clusterRoot}.frontDoor`, value: cluster.frontDoor, rule: "follows the AWS front door on AWS", fix: `remove it; choose with ${root}.frontDoor: vip or nlb` });
        }
        if (a.frontDoor === "nlb" && keepalived !== undefined) {
            issues.push({ setting: `${clusterRoot}.keepalived`, value: keepalived, rule: "has no effect with the nlb front door (no Keepalived)", fix: `remove it, or set ${root}.frontDoor: vip` });
        }
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
    const checkCidrs = (list: string[], at: string, allowWorld: boolean) =>
        list.forEach((cidr, i) => {
            if (!isIpv4Cidr(cidr)) {
                issues.push({ setting: `${at}[${i}]`, value: cidr, rule: "is not an IPv4 CIDR", fix: "write it as a.b.c.d/n, e.g. 10.0.0.0/16" });
            } else if (!allowWorld && cidr.endsWith("/0")) {
                issues.push({ setting: `${at}[${i}]`, value: cidr, rule: "opens SSH and the stats page to the whole internet", fix: "list your own addresses (office, VPN, runners), or use the bastion" });
            }
        });
    checkCidrs(a.adminCidrs, `${root}.adminCidrs`, false);
    checkCidrs(a.clientCidrs, `${root}.clientCidrs`, true);
    a.clientSecurityGroupIds.forEach((id, i) => {
        if (!SG_ID.test(id)) issues.push({ setting: `${root}.clientSecurityGroupIds[${i}]`, value: id, rule: "is not a security group id", fix: "write it as sg-0123456789abcdef0" });
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
    const range = (name: keyof ResolvedAws["volumes"], min: number, max: number, fix: string) => {
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
            const plan = planAwsCluster(a, {}, DEFAULT_OS);
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

// ---------------------------------------------------------------------------------------------
// Security groups, IAM, user data: plain data the component turns into resources.
// ---------------------------------------------------------------------------------------------

/** The security groups AwsHosts makes (only those the settings need). */
export type SecurityGroupRole = "etcd" | "patroni" | "haproxy" | "nlb" | "bastion";

/** Where a rule's traffic may come from. */
export type RuleSource = { group: SecurityGroupRole } | { cidr: string } | { groupId: string };

/** One ingress rule. */
export interface SecurityGroupRule {
    /** Unique, stable: part of the rule resource's name (renaming it replaces the rule). */
    id: string;
    /** The group the rule belongs to. */
    group: SecurityGroupRole;
    /** "tcp", or an IP protocol number as text ("112" for VRRP). */
    protocol: string;
    /** Port range (TCP only). */
    fromPort?: number;
    toPort?: number;
    source: RuleSource;
    description: string;
}

function sourceLabel(source: RuleSource): string {
    if ("group" in source) return source.group;
    if ("cidr" in source) return source.cidr.replace(/[./]/g, "-");
    return source.groupId;
}

/**
 * Every ingress rule of the cluster's security groups: each service open only to the roles that use
 * it, the front door to the client CIDRs and groups, SSH only from the bastion (or the admin CIDRs
 * with public access), VRRP only between the HAProxy pair. Egress is open (packages, the AWS API).
 */
export function securityGroupRules(a: ResolvedAws, ports: { etcdClient: number; etcdPeer: number; postgres: number; restApi: number; primary: number; replica: number; stats: number }): SecurityGroupRule[] {
    const rules: SecurityGroupRule[] = [];
    const tcp = (group: SecurityGroupRole, port: number, source: RuleSource, description: string) =>
        rules.push({ id: `${group}-${port}-from-${sourceLabel(source)}`, group, protocol: "tcp", fromPort: port, toPort: port, source, description });
    const front: SecurityGroupRole = a.frontDoor === "vip" ? "haproxy" : "nlb";

    tcp("etcd", ports.etcdClient, { group: "etcd" }, "etcd client API between members");
    tcp("etcd", ports.etcdPeer, { group: "etcd" }, "etcd peer traffic between members");
    tcp("etcd", ports.etcdClient, { group: "patroni" }, "etcd client API for Patroni (the DCS)");
    tcp("patroni", ports.postgres, { group: "patroni" }, "PostgreSQL replication and gates between members");
    tcp("patroni", ports.restApi, { group: "patroni" }, "Patroni REST API between members");
    tcp("patroni", ports.postgres, { group: front }, `PostgreSQL from the front door (${front})`);
    tcp("patroni", ports.restApi, { group: front }, `Patroni health checks from the front door (${front})`);
    for (const port of [ports.primary, ports.replica]) {
        const what = port === ports.primary ? "writer" : "reader";
        for (const cidr of a.clientCidrs) tcp(front, port, { cidr }, `${what} endpoint for clients`);
        for (const groupId of a.clientSecurityGroupIds) tcp(front, port, { groupId }, `${what} endpoint for clients`);
    }
    if (a.frontDoor === "vip") {
        tcp("haproxy", ports.primary, { group: "patroni" }, "the VIP gate, run on the first Patroni member");
        for (const cidr of a.adminCidrs) tcp("haproxy", ports.stats, { cidr }, "HAProxy statistics page for admins");
        tcp("haproxy", ports.stats, { group: "haproxy" }, "the balancer list each Keepalived check asks its peers for");
        rules.push({ id: "haproxy-vrrp-from-haproxy", group: "haproxy", protocol: "112", source: { group: "haproxy" }, description: "VRRP (unicast) between the HAProxy pair" });
    }
    const hostGroups: SecurityGroupRole[] = a.frontDoor === "vip" ? ["etcd", "patroni", "haproxy"] : ["etcd", "patroni"];
    for (const group of hostGroups) {
        if (a.ssh.access === "bastion") tcp(group, 22, { group: "bastion" }, "SSH from the bastion");
        else for (const cidr of a.adminCidrs) tcp(group, 22, { cidr }, "SSH from admins");
    }
    if (a.ssh.access === "bastion") for (const cidr of a.adminCidrs) tcp("bastion", 22, { cidr }, "SSH to the bastion from admins");
    return rules;
}

/** The security groups the settings need. */
export function securityGroupRoles(a: ResolvedAws): SecurityGroupRole[] {
    return ["etcd", "patroni", a.frontDoor === "vip" ? "haproxy" : "nlb", ...(a.ssh.access === "bastion" ? ["bastion" as const] : [])];
}

/** The actions the notify_master script needs, and nothing else. */
export const MOVE_VIP_ACTIONS = ["ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"] as const;

/**
 * The HAProxy instances' policy: assign/unassign only on the pair's two ENIs (their ARNs are known
 * because AwsHosts creates the ENIs itself); DescribeNetworkInterfaces supports no resource-level
 * scoping, so it has to be `*` (it only reads).
 */
export function moveVipPolicy(eniArns: string[]): object {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "MoveVipBetweenHaproxyEnis", Effect: "Allow", Action: [...MOVE_VIP_ACTIONS], Resource: eniArns },
            { Sid: "CheckVipAssignment", Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces"], Resource: "*" },
        ],
    };
}

export const EC2_ASSUME_ROLE_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

/**
 * Cloud-init user data. Cloud images log in as admin/ubuntu/rocky and put a "please log in as"
 * command in front of root's key; `disable_root: false` installs the key pair for root as it is, so
 * the program connects as root (its scripts run as root).
 */
export function cloudConfig(hostName: string, rootLogin: boolean): string {
    return ["#cloud-config", `hostname: ${hostName}`, "preserve_hostname: false", ...(rootLogin ? ["disable_root: false"] : []), ""].join("\n");
}
