/**
 * What a user writes under `pulumi-patroni:aws` (`AwsSpec`), its schema and its defaults
 * (`resolveAwsSpec`). No Pulumi imports.
 */
import type { Schema } from "../../model/validate";

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
    /**
     * Delete the data volumes with the stack (`pulumi destroy`, or a host leaving the stack). By
     * default they are left behind (detached, with their data) and must be deleted by hand.
     * @default false
     */
    deleteWithStack?: boolean;
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
    /**
     * The AMI of instances created from now on, `ami-...`, instead of the newest image of
     * `cluster.os` found when each is created. Neither ever replaces a running instance: an
     * instance keeps the image (and the user data) it was created with.
     * @default - the newest image of cluster.os (AWS_IMAGES) when the instance is created
     */
    image?: string;
    /** @default - see AwsMembers */
    members?: AwsMembers;
    /**
     * Per host, by its base name (etcd2, pg3, lb1): raising its generation replaces that host, and
     * only it, by a new one (`pg3-g1`, at an address beside it); the old one leaves through the
     * topology procedures once the new one has joined. The way to roll a new image one host at a
     * time (README, "Rolling a new image").
     * @default {} - every host in generation 0
     */
    generations?: Record<string, number>;
    /**
     * Per host, by its base name: the AMI of its current generation, `ami-...`. Changing it changes
     * nothing on a running host (the image is pinned at creation): raise the host's generation too.
     * @default {} - aws.image, else the newest image of cluster.os
     */
    hostImages?: Record<string, string>;
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
     * `nlb`: an internal Network Load Balancer with a node in every zone, whose target groups check
     * Patroni's /primary and /replica; no HAProxy instances. `vip`: two HAProxy + Keepalived
     * instances and a VIP moved between them as a secondary private IP, all in the first zone (a
     * secondary IP lives in one subnet): losing that zone loses the front door.
     * @default - "nlb" over several zones, "vip" in one (see defaultFrontDoor)
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
        "image?": "string",
        "members?": { "etcd?": "integer", "patroni?": "integer" },
        "generations?": "scalarMap",
        "hostImages?": "scalarMap",
        "instanceTypes?": { "etcd?": "string", "patroni?": "string", "haproxy?": "string", "bastion?": "string" },
        "volumes?": { "patroniGiB?": "integer", "etcdGiB?": "integer", "patroniIops?": "integer", "patroniThroughputMiBps?": "integer", "rootGiB?": "integer", "deleteWithStack?": "boolean" },
        ssh: { "access?": { enum: ["bastion", "public"] }, "keyName?": "string", "publicKey?": "string" },
        adminCidrs: ["string"],
        "clientCidrs?": ["string"],
        "clientSecurityGroupIds?": ["string"],
        "frontDoor?": { enum: ["vip", "nlb"] },
        "vip?": "string",
        "tags?": "scalarMap",
    };
})();


/** `AwsSpec` with every default applied. */
export interface ResolvedAws {
    vpc: { kind: "create"; cidr: string; availabilityZones: number } | { kind: "existing"; vpcId: string; subnets: AwsSubnetSpec[]; bastionSubnet: AwsSubnetSpec | undefined };
    architecture: AwsArchitecture;
    image: string | undefined;
    members: Required<AwsMembers>;
    /** Generation and image per base host name (only the hosts named in generations or hostImages). */
    hosts: Record<string, { generation: number; image: string | undefined }>;
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

/**
 * The front door when none is chosen: the NLB when the hosts spread over several zones (it has a
 * node in each, so it survives the loss of one), the VIP in a single zone (a secondary IP lives in
 * one subnet, so both balancers and the VIP sit in the first zone).
 */
export function defaultFrontDoor(spec: AwsSpec): "vip" | "nlb" {
    const zones = spec.vpc?.vpcId !== undefined ? (spec.vpc.subnets ?? []).length : (spec.availabilityZones ?? 3);
    return zones > 1 ? "nlb" : "vip";
}

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
        image: spec.image,
        members: { etcd: spec.members?.etcd ?? 3, patroni: spec.members?.patroni ?? 3 },
        hosts: Object.fromEntries(
            [...new Set([...Object.keys(spec.generations ?? {}), ...Object.keys(spec.hostImages ?? {})])].map((name) => [
                name,
                { generation: Number(spec.generations?.[name] ?? 0), image: spec.hostImages?.[name] === undefined ? undefined : String(spec.hostImages[name]) },
            ]),
        ),
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
            deleteWithStack: v.deleteWithStack ?? false,
        },
        ssh: { access: spec.ssh.access ?? "bastion", keyName: spec.ssh.keyName, publicKey: spec.ssh.publicKey },
        adminCidrs: spec.adminCidrs,
        clientCidrs: spec.clientCidrs ?? [],
        clientSecurityGroupIds: spec.clientSecurityGroupIds ?? [],
        frontDoor: spec.frontDoor ?? defaultFrontDoor(spec),
        vip: spec.vip,
        tags: Object.fromEntries(Object.entries(spec.tags ?? {}).map(([k, val]) => [k, String(val)])),
    };
}
