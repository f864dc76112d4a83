/**
 * AwsHosts: the machines of a cluster on AWS, at the addresses `planAwsCluster` chose — a VPC with
 * one private subnet per availability zone (or your subnets), least-privilege security groups, one
 * EC2 instance per host (etcd and Patroni spread over the zones, the HAProxy pair in one subnet on
 * ENIs of their own), encrypted gp3 data volumes, the IAM profile that lets the HAProxy pair move
 * the VIP, an optional internal NLB front door, and a bastion or public IPs for SSH. With backups
 * (`cluster.backup`, an S3 repository): the bucket (versioned, encrypted, no public access, old versions
 * expired) and the instance role the Patroni hosts reach it with, scoped to the repository's path.
 * It only makes machines; PostgresHaCluster then builds the cluster on them over SSH.
 *
 * Children (`<name>-...`): vpc, igw, subnet-private-<i>, subnet-public, nat-eip, nat, rt-public,
 * rt-private, rta-*, sg-<role>, rule-<rule id>, egress-<role>, key, haproxy-role, haproxy-move-vip,
 * haproxy-profile, eni-<host>, eip-<host>, instance-<host>, data-<host>, attach-<host>, bastion,
 * nlb, tg-primary, tg-replicas, listener-primary, listener-replicas, tg-<primary|replicas>-<host>;
 * with backups backup-bucket, backup-versioning, backup-encryption, backup-public-access,
 * backup-lifecycle, patroni-role, patroni-backup-bucket, patroni-profile.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import {
    AWS_IMAGES,
    EC2_ASSUME_ROLE_POLICY,
    cloudConfig,
    moveVipPolicy,
    awsLimitedNames,
    securityGroupRoles,
    securityGroupRules,
    type AwsOs,
    BALANCER_ENI_UNMANAGED,
    INSTANCE_PINNED,
    PROGRAM_TAG_KEYS,
    NLB_HEALTH_CHECK,
    NLB_IDLE_TIMEOUT_SEC,
    REGION_ZONES_QUERY,
    type AwsPlan,
    type PlannedReservation,
    type PlannedHost,
    type ResolvedAws,
    type SecurityGroupRole,
    awsDataVolumes,
    ebsPlannedVolume,
    BACKUP_BUCKET_LIFECYCLE,
    backupBucketPolicy,
} from "./model";
import type { ResolvedCluster } from "../../model/types";
import { SSH_DIAL_PATIENCE, type ConnectionArgs, type DataVolume } from "../../components/remote";

export interface AwsHostsArgs {
    /** The resolved `pulumi-patroni:aws` settings (see `resolveAwsSpec`, `validateAwsSpec`). */
    aws: ResolvedAws;
    /** Subnets, addresses and the VIP (see `planAwsCluster`). */
    plan: AwsPlan;
    /** The resolved cluster planned for these hosts: its scope, OS, ports and data paths. */
    cluster: ResolvedCluster;
}

/** One cluster machine as created. */
export interface AwsHost {
    name: string;
    role: PlannedHost["role"];
    /** Private address, fixed by the plan. */
    privateIp: string;
    /** Public address with `ssh.access: public`; empty otherwise. */
    publicIp: pulumi.Output<string>;
    instance: aws.ec2.Instance;
    /** etcd and Patroni hosts: the data volume to mount before installing. */
    dataVolume?: DataVolume;
    /** Everything that must exist before SSH to this host can work (instance, volume, routes, rules). */
    dependsOn: pulumi.Resource[];
}

export class AwsHosts extends pulumi.ComponentResource {
    /** The VPC the cluster lives in. */
    public readonly vpcId: pulumi.Output<string>;
    /** The private subnets, one per availability zone. */
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    /** Security group id of each role (etcd, patroni, haproxy or nlb, bastion). */
    public readonly securityGroupIds: Partial<Record<SecurityGroupRole, pulumi.Output<string>>>;
    /** Instance id of each host, by host name. */
    public readonly instanceIds: Record<string, pulumi.Output<string>>;
    /** The bastion's public address (`ssh.access: bastion`); empty otherwise. */
    public readonly bastionPublicIp: pulumi.Output<string>;
    /** The NLB's DNS name (`frontDoor: nlb`); empty otherwise. */
    public readonly nlbDnsName: pulumi.Output<string>;
    /** With backups: the bucket holding the pgBackRest repository (`s3://<bucket>/<path>`); empty otherwise. */
    public readonly backupRepository: pulumi.Output<string>;
    /** Every cluster host, in plan order. */
    public readonly hosts: AwsHost[];
    /** The login user of the bastion (the image's default user). */
    public readonly bastionUser: string;
    /** True when hosts are reached through the bastion, false with public IPs. */
    public readonly viaBastion: boolean;
    /**
     * The address blocks to reserve (explicit subnet CIDR reservations), by subnet id or CIDR: made
     * by the program in subnets it creates; for existing subnets, their owner makes them.
     */
    public readonly addressReservations: { subnet: string; cidr: string; createdHere: boolean }[];

    constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:AwsHosts", name, {}, opts);
        const built = createAwsHosts(name, this, args);
        this.vpcId = built.vpcId;
        this.privateSubnetIds = built.privateSubnetIds;
        this.securityGroupIds = built.securityGroupIds;
        this.instanceIds = Object.fromEntries(built.hosts.map((h) => [h.name, h.instance.id]));
        this.bastionPublicIp = built.bastionPublicIp;
        this.nlbDnsName = built.nlbDnsName;
        this.backupRepository = built.backupRepository;
        this.hosts = built.hosts;
        this.bastionUser = AWS_IMAGES[args.cluster.os as AwsOs].loginUser;
        this.viaBastion = args.aws.ssh.access === "bastion";
        this.addressReservations = args.plan.reservations.map((r) => {
            const existing = typeof r.subnet === "number" ? args.plan.subnets[r.subnet].existing?.id : args.aws.vpc.kind === "existing" ? args.aws.vpc.bastionSubnet?.id : undefined;
            return { subnet: existing ?? r.subnetCidr, cidr: r.cidr, createdHere: existing === undefined };
        });
        this.registerOutputs({
            vpcId: this.vpcId,
            privateSubnetIds: this.privateSubnetIds,
            instanceIds: this.instanceIds,
            bastionPublicIp: this.bastionPublicIp,
            nlbDnsName: this.nlbDnsName,
            backupRepository: this.backupRepository,
            addressReservations: this.addressReservations,
        });
    }

    /**
     * SSH connections to every host as root with `privateKey`: to the private address through the
     * bastion (the connection's `proxy`), or to the public address.
     */
    public connections(privateKey: pulumi.Input<string>): Record<string, pulumi.Input<ConnectionArgs>> {
        // Instances still booting refuse connections for a while: keep dialing.
        const patience = SSH_DIAL_PATIENCE;
        const proxy = this.viaBastion ? { proxy: { host: this.bastionPublicIp, user: this.bastionUser, port: 22, privateKey, ...patience } } : {};
        return Object.fromEntries(
            this.hosts.map((h) => [h.name, { host: this.viaBastion ? h.privateIp : h.publicIp, user: "root", port: 22, privateKey, ...patience, ...proxy }]),
        );
    }
}

interface Built {
    vpcId: pulumi.Output<string>;
    privateSubnetIds: pulumi.Output<string[]>;
    securityGroupIds: Partial<Record<SecurityGroupRole, pulumi.Output<string>>>;
    bastionPublicIp: pulumi.Output<string>;
    nlbDnsName: pulumi.Output<string>;
    backupRepository: pulumi.Output<string>;
    hosts: AwsHost[];
}

function createAwsHosts(name: string, parent: pulumi.Resource, args: AwsHostsArgs): Built {
    const { aws: a, plan, cluster: c } = args;
    // The resources whose names AWS limits are named here, as validateAwsSpec checked them.
    const s3 = c.backup.enabled ? c.backup.repository.s3 : undefined;
    const names = awsLimitedNames(c.scope, a, name, s3 !== undefined);
    const opts = { parent };
    const tags = (resource: string, extra: Record<string, string> = {}): Record<string, string> => ({
        ...a.tags,
        [PROGRAM_TAG_KEYS.name]: `${c.scope}-${resource}`,
        [PROGRAM_TAG_KEYS.cluster]: c.scope,
        ...extra,
    });
    const publicAccess = a.ssh.access === "public";
    /** Routes, NAT and rules: SSH and package installs need them, not just the instance. */
    const networkReady: pulumi.Resource[] = [];
    /** Explicit reservations of the planned addresses in created subnets: before anything takes an address. */
    const reservations: aws.ec2.SubnetCidrReservation[] = [];

    // ----- network --------------------------------------------------------------------------
    let vpcId: pulumi.Output<string>;
    let subnetIds: pulumi.Output<string>[];
    let subnetZones: pulumi.Output<string>[];
    let bastionSubnetId: pulumi.Output<string> | undefined;
    if (a.vpc.kind === "create") {
        const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: a.vpc.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags("vpc") }, opts);
        vpcId = vpc.id;
        const zones = aws.getAvailabilityZonesOutput(REGION_ZONES_QUERY, opts);
        const privateSubnets = plan.subnets.map(
            (s) =>
                new aws.ec2.Subnet(
                    `${name}-subnet-private-${s.index}`,
                    { vpcId, cidrBlock: s.cidr, availabilityZone: zones.names[s.index], mapPublicIpOnLaunch: false, tags: tags(`private-${s.index}`, { [PROGRAM_TAG_KEYS.tier]: "private" }) },
                    opts,
                ),
        );
        subnetIds = privateSubnets.map((s) => s.id);
        subnetZones = privateSubnets.map((s) => s.availabilityZone);
        const reserve = (r: PlannedReservation, subnetId: pulumi.Input<string>) =>
            reservations.push(
                new aws.ec2.SubnetCidrReservation(
                    `${name}-reserve-${r.subnet === "public" ? "public" : `private-${r.subnet}`}-${r.cidr.replace(/[./]/g, "-")}`,
                    { subnetId, cidrBlock: r.cidr, reservationType: "explicit", description: `pulumi-patroni ${c.scope}: planned addresses` },
                    opts,
                ),
            );
        for (const r of plan.reservations.filter((x) => x.subnet !== "public")) reserve(r, subnetIds[r.subnet as number]);
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId, tags: tags("igw") }, opts);
        const publicRoutes = new aws.ec2.RouteTable(`${name}-rt-public`, { vpcId, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("public") }, opts);
        let privateRoutes: aws.ec2.RouteTable;
        if (publicAccess) {
            // Every host has a public IP: the cluster subnets route to the internet gateway, no NAT.
            privateRoutes = publicRoutes;
        } else {
            const publicSubnet = new aws.ec2.Subnet(
                `${name}-subnet-public`,
                { vpcId, cidrBlock: plan.publicSubnetCidr!, availabilityZone: zones.names[0], mapPublicIpOnLaunch: false, tags: tags("public", { [PROGRAM_TAG_KEYS.tier]: "public" }) },
                opts,
            );
            bastionSubnetId = publicSubnet.id;
            for (const r of plan.reservations.filter((x) => x.subnet === "public")) reserve(r, publicSubnet.id);
            networkReady.push(new aws.ec2.RouteTableAssociation(`${name}-rta-public`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, opts));
            // One NAT gateway (in the first zone) for package installs: the cluster does not need
            // outbound internet to serve, so a zone-redundant NAT is not worth its cost here.
            const eip = new aws.ec2.Eip(`${name}-nat-eip`, { domain: "vpc", tags: tags("nat") }, opts);
            // After the reservations: the NAT gateway's address is picked by AWS, never a planned one.
            const nat = new aws.ec2.NatGateway(`${name}-nat`, { subnetId: publicSubnet.id, allocationId: eip.id, tags: tags("nat") }, { parent, dependsOn: [igw, ...reservations] });
            privateRoutes = new aws.ec2.RouteTable(`${name}-rt-private`, { vpcId, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tags("private") }, opts);
            networkReady.push(nat);
        }
        networkReady.push(publicRoutes, privateRoutes);
        privateSubnets.forEach((s, i) =>
            networkReady.push(new aws.ec2.RouteTableAssociation(`${name}-rta-private-${i}`, { subnetId: s.id, routeTableId: privateRoutes.id }, opts)),
        );
    } else {
        vpcId = pulumi.output(a.vpc.vpcId);
        subnetIds = a.vpc.subnets.map((s) => pulumi.output(s.id));
        subnetZones = a.vpc.subnets.map((s) => pulumi.output(s.availabilityZone));
        bastionSubnetId = a.vpc.bastionSubnet && pulumi.output(a.vpc.bastionSubnet.id);
    }

    // ----- security groups ------------------------------------------------------------------
    const groups: Partial<Record<SecurityGroupRole, aws.ec2.SecurityGroup>> = {};
    for (const role of securityGroupRoles(a)) {
        groups[role] = new aws.ec2.SecurityGroup(names.securityGroups[role]!.logical, { vpcId, description: `pulumi-patroni ${c.scope}: ${role}`, tags: tags(`${role}-sg`) }, opts);
        // Open egress: packages from the distribution's mirrors and PGDG, the EC2 API for the VIP move.
        networkReady.push(
            new aws.vpc.SecurityGroupEgressRule(`${name}-egress-${role}`, { securityGroupId: groups[role]!.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all outbound", tags: tags(`${role}-egress`) }, opts),
        );
    }
    const ports = {
        etcdClient: c.etcd.clientPort,
        etcdPeer: c.etcd.peerPort,
        postgres: c.patroni.postgresPort,
        restApi: c.patroni.restApiPort,
        primary: c.haproxy.primaryPort,
        replica: c.haproxy.replicaPort,
        stats: c.haproxy.statsPort,
    };
    for (const rule of securityGroupRules(a, ports)) {
        const source = rule.source;
        networkReady.push(
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-rule-${rule.id}`,
                {
                    securityGroupId: groups[rule.group]!.id,
                    ipProtocol: rule.protocol,
                    fromPort: rule.fromPort,
                    toPort: rule.toPort,
                    ...("cidr" in source ? { cidrIpv4: source.cidr } : {}),
                    ...("group" in source ? { referencedSecurityGroupId: groups[source.group]!.id } : {}),
                    ...("groupId" in source ? { referencedSecurityGroupId: source.groupId } : {}),
                    description: rule.description,
                    tags: tags(`rule-${rule.id}`),
                },
                opts,
            ),
        );
    }

    // ----- what every instance shares -------------------------------------------------------
    const os = c.os as AwsOs;
    const image = AWS_IMAGES[os];
    // Looked up for every preview, but only used by instances being created (see INSTANCE_PINNED).
    const ami = aws.ec2.getAmiOutput(
        {
            owners: [image.owner],
            mostRecent: true,
            filters: [
                { name: "name", values: [image.namePattern[a.architecture]] },
                { name: "architecture", values: [a.architecture] },
                { name: "virtualization-type", values: ["hvm"] },
            ],
        },
        opts,
    );
    const keyName: pulumi.Output<string> = a.ssh.publicKey
        ? new aws.ec2.KeyPair(names.keyPair.logical, { publicKey: a.ssh.publicKey, tags: tags("key") }, opts).keyName
        : pulumi.output(a.ssh.keyName!);
    const instanceBase = (hostName: string, role: string, rootLogin: boolean, image?: string) => ({
        ami: image ?? a.image ?? ami.id,
        keyName,
        userData: cloudConfig(hostName, rootLogin),
        // IMDSv2 only: a token must be fetched with PUT, which a forwarded request cannot do.
        metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: a.volumes.rootGiB, encrypted: true, deleteOnTermination: true, tags: tags(`${hostName}-root`, { [PROGRAM_TAG_KEYS.role]: role }) },
        tags: tags(hostName, { [PROGRAM_TAG_KEYS.role]: role }),
    });

    // Pinned at creation (INSTANCE_PINNED). A host running another release than cluster.os is
    // refused by the first step on it, with how to fix it.
    const instanceOpts = { parent, ignoreChanges: [...INSTANCE_PINNED], dependsOn: reservations };

    // ----- bastion --------------------------------------------------------------------------
    let bastionPublicIp = pulumi.output("");
    const bastionReady: pulumi.Resource[] = [];
    if (a.ssh.access === "bastion") {
        const bastion = new aws.ec2.Instance(
            `${name}-bastion`,
            {
                ...instanceBase("bastion", "bastion", false),
                instanceType: a.instanceTypes.bastion,
                subnetId: bastionSubnetId!,
                privateIp: plan.bastionAddress,
                associatePublicIpAddress: true,
                vpcSecurityGroupIds: [groups.bastion!.id],
            },
            instanceOpts,
        );
        bastionPublicIp = bastion.publicIp;
        bastionReady.push(bastion);
    }

    // ----- the HAProxy pair's ENIs and the profile that moves the VIP between them ----------
    const enis: Record<string, aws.ec2.NetworkInterface> = {};
    let profile: aws.iam.InstanceProfile | undefined;
    const proxies = plan.hosts.filter((h) => h.role === "haproxy");
    if (proxies.length > 0) {
        for (const h of proxies) {
            // Source/destination check stays on: the VIP is one of this ENI's own (secondary)
            // addresses once assigned, so the VPC delivers it without routing through the host.
            enis[h.name] = new aws.ec2.NetworkInterface(
                `${name}-eni-${h.name}`,
                { subnetId: subnetIds[h.subnet], privateIps: [h.address], securityGroups: [groups.haproxy!.id], description: `pulumi-patroni ${c.scope}: ${h.name} (carries the VIP when MASTER)`, tags: tags(`${h.name}-eni`) },
                { parent, ignoreChanges: [...BALANCER_ENI_UNMANAGED], dependsOn: reservations },
            );
        }
        const role = new aws.iam.Role(names.haproxyRole!.logical, { assumeRolePolicy: JSON.stringify(EC2_ASSUME_ROLE_POLICY), description: `pulumi-patroni ${c.scope}: move the VIP between the HAProxy ENIs`, tags: tags("haproxy-role") }, opts);
        const policy = new aws.iam.RolePolicy(
            names.haproxyPolicy!.logical,
            { role: role.id, policy: pulumi.all(proxies.map((h) => enis[h.name].arn)).apply((arns) => JSON.stringify(moveVipPolicy(arns))) },
            opts,
        );
        profile = new aws.iam.InstanceProfile(names.haproxyProfile!.logical, { role: role.name, tags: tags("haproxy-profile") }, { parent, dependsOn: [policy] });
    }

    // ----- the backup bucket and the role the Patroni hosts reach it with ------------------
    let patroniProfile: aws.iam.InstanceProfile | undefined;
    const backupReady: pulumi.Resource[] = [];
    let backupRepository = pulumi.output("");
    if (s3) {
        // Kept on destroy unless emptied by hand: the backups outlive the cluster (forceDestroy false).
        const bucket = new aws.s3.Bucket(`${name}-backup-bucket`, { bucket: s3.bucket, forceDestroy: false, tags: tags("backup-bucket") }, { parent, retainOnDelete: true });
        // Versioned, so that a delete (pgBackRest's expire, or a mistake) is undone for BACKUP_NONCURRENT_VERSION_DAYS.
        backupReady.push(
            bucket,
            new aws.s3.BucketVersioning(`${name}-backup-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, opts),
            new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-backup-encryption`, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] }, opts),
            new aws.s3.BucketPublicAccessBlock(`${name}-backup-public-access`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, opts),
            new aws.s3.BucketLifecycleConfiguration(`${name}-backup-lifecycle`, { bucket: bucket.id, rules: BACKUP_BUCKET_LIFECYCLE }, opts),
        );
        const role = new aws.iam.Role(names.patroniRole!.logical, { assumeRolePolicy: JSON.stringify(EC2_ASSUME_ROLE_POLICY), description: `pulumi-patroni ${c.scope}: pgBackRest's repository in s3://${s3.bucket}${c.backup.repository.path}`, tags: tags("patroni-role") }, opts);
        const policy = new aws.iam.RolePolicy(names.patroniPolicy!.logical, { role: role.id, policy: bucket.arn.apply((arn) => JSON.stringify(backupBucketPolicy(arn, c.backup.repository.path))) }, opts);
        patroniProfile = new aws.iam.InstanceProfile(names.patroniProfile!.logical, { role: role.name, tags: tags("patroni-profile") }, { parent, dependsOn: [policy] });
        backupReady.push(policy, patroniProfile);
        backupRepository = pulumi.interpolate`s3://${bucket.bucket}${c.backup.repository.path}`;
    }

    // ----- cluster instances and their data volumes -----------------------------------------
    const hosts: AwsHost[] = plan.hosts.map((h) => {
        const base = instanceBase(h.name, h.role, true, h.image);
        const instanceType = a.instanceTypes[h.role];
        let instance: aws.ec2.Instance;
        let publicIp: pulumi.Output<string> = pulumi.output("");
        const extra: pulumi.Resource[] = [];
        if (h.role === "haproxy") {
            instance = new aws.ec2.Instance(
                `${name}-instance-${h.name}`,
                { ...base, instanceType, primaryNetworkInterface: { networkInterfaceId: enis[h.name].id }, iamInstanceProfile: profile!.name },
                instanceOpts,
            );
            if (publicAccess) {
                // An instance on its own ENI cannot ask for a public IP at launch: an Elastic IP on the primary address.
                const eip = new aws.ec2.Eip(`${name}-eip-${h.name}`, { domain: "vpc", networkInterface: enis[h.name].id, associateWithPrivateIp: h.address, tags: tags(`${h.name}-eip`) }, { parent, dependsOn: [instance] });
                publicIp = eip.publicIp;
                extra.push(eip);
            }
        } else {
            instance = new aws.ec2.Instance(
                `${name}-instance-${h.name}`,
                {
                    ...base,
                    instanceType,
                    subnetId: subnetIds[h.subnet],
                    privateIp: h.address,
                    vpcSecurityGroupIds: [groups[h.role]!.id],
                    associatePublicIpAddress: publicAccess,
                    // With backups a member reaches the bucket with its instance role (pgBackRest's repo1-s3-key-type auto).
                    ...(h.role === "patroni" && patroniProfile ? { iamInstanceProfile: patroniProfile.name } : {}),
                },
                instanceOpts,
            );
            if (h.role === "patroni") extra.push(...backupReady);
            if (publicAccess) publicIp = instance.publicIp;
        }
        let dataVolume: DataVolume | undefined;
        const planned = awsDataVolumes(c)[h.name];
        if (planned) {
            const gp3 = h.role === "patroni" ? { size: a.volumes.patroniGiB, iops: a.volumes.patroniIops, throughput: a.volumes.patroniThroughputMiBps } : { size: a.volumes.etcdGiB };
            const volume = new aws.ebs.Volume(
                `${name}-data-${h.name}`,
                { availabilityZone: subnetZones[h.subnet], type: "gp3", encrypted: true, ...gp3, tags: tags(`${h.name}-data`, { [PROGRAM_TAG_KEYS.role]: h.role }) },
                // Kept by default: a destroy, or a host leaving the stack, leaves the data behind.
                { parent, retainOnDelete: !a.volumes.deleteWithStack },
            );
            // Detached from a stopped instance: never from under a running PostgreSQL or etcd
            // (the data's file system is not unmounted first otherwise).
            const attachment = new aws.ec2.VolumeAttachment(
                `${name}-attach-${h.name}`,
                { deviceName: planned.deviceName, volumeId: volume.id, instanceId: instance.id, stopInstanceBeforeDetaching: true },
                opts,
            );
            extra.push(attachment);
            dataVolume = { volumeId: volume.id, ...ebsPlannedVolume(c, h.name, planned) };
        }
        return { name: h.name, role: h.role, privateIp: h.address, publicIp, instance, dataVolume, dependsOn: [instance, ...extra, ...networkReady, ...bastionReady] };
    });

    // ----- the NLB front door ---------------------------------------------------------------
    let nlbDnsName = pulumi.output("");
    if (a.frontDoor === "nlb") {
        const nlb = new aws.lb.LoadBalancer(
            names.nlb!.logical,
            { name: names.nlb!.explicit, internal: true, loadBalancerType: "network", subnets: subnetIds, securityGroups: [groups.nlb!.id], enableCrossZoneLoadBalancing: true, tags: tags("nlb") },
            opts,
        );
        nlbDnsName = nlb.dnsName;
        const patroniHosts = hosts.filter((h) => h.role === "patroni");
        for (const [pool, path, port] of [
            ["primary", "/primary", c.haproxy.primaryPort],
            ["replicas", "/replica", c.haproxy.replicaPort],
        ] as const) {
            const group = new aws.lb.TargetGroup(
                names.targetGroups![pool].logical,
                {
                    name: names.targetGroups![pool].explicit,
                    port: c.patroni.postgresPort,
                    protocol: "TCP",
                    vpcId,
                    targetType: "instance",
                    // Connections come from the NLB's own addresses (allowed in pg_hba), so clients
                    // named by security group work too; a demoted primary's sessions are cut at once.
                    preserveClientIp: "false",
                    connectionTermination: true,
                    deregistrationDelay: 0,
                    healthCheck: {
                        protocol: "HTTP",
                        port: String(c.patroni.restApiPort),
                        path,
                        matcher: "200",
                        interval: NLB_HEALTH_CHECK.intervalSec,
                        timeout: NLB_HEALTH_CHECK.timeoutSec,
                        healthyThreshold: NLB_HEALTH_CHECK.healthyThreshold,
                        unhealthyThreshold: NLB_HEALTH_CHECK.unhealthyThreshold,
                    },
                    tags: tags(`tg-${pool}`),
                },
                opts,
            );
            new aws.lb.Listener(
                `${name}-listener-${pool}`,
                { loadBalancerArn: nlb.arn, port, protocol: "TCP", tcpIdleTimeoutSeconds: NLB_IDLE_TIMEOUT_SEC, defaultActions: [{ type: "forward", targetGroupArn: group.arn }], tags: tags(`listener-${pool}`) },
                opts,
            );
            for (const h of patroniHosts) {
                new aws.lb.TargetGroupAttachment(`${name}-tg-${pool}-${h.name}`, { targetGroupArn: group.arn, targetId: h.instance.id, port: c.patroni.postgresPort }, opts);
            }
        }
    }

    return {
        vpcId,
        privateSubnetIds: pulumi.all(subnetIds),
        securityGroupIds: Object.fromEntries(Object.entries(groups).map(([role, g]) => [role, g!.id])),
        bastionPublicIp,
        nlbDnsName,
        backupRepository,
        hosts,
    };
}
