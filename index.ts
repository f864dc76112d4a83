/**
 * The pulumi-patroni program: reads the stack's config, validates all of it before creating
 * anything, builds the cluster on the stack's hosts and exports what applications and operators need.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, CONFIG_NAMESPACE, type ProgramSettings } from "./model/config";
import { PostgresHaCluster, sshConnections, type PostgresHaClusterArgs } from "./components/postgres-ha-cluster";
import { STACK_PROVIDERS } from "./providers";
import { AwsHosts, awsHostsName, awsStackSettings, nlbGate, type AwsStackSettings } from "./providers/aws";
import type { ConnectionArgs } from "./components/remote";
import type { ClusterSpec } from "./model/types";
import { ClusterConfigError, formatIssue } from "./model/validate";

const settings = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack(), STACK_PROVIDERS);
for (const warning of settings.warnings) void pulumi.log.warn(formatIssue(warning));
const config = new pulumi.Config(CONFIG_NAMESPACE);

/** A path as the shell would read it: `~` and `~/...` are the home directory of whoever runs `pulumi`. */
function expandHome(file: string): string {
    if (file === "~") return os.homedir();
    return file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file;
}

/** The SSH private key: the `sshPrivateKey` secret, else the file named by `ssh.privateKeyFile`. */
function privateKey(given: string | undefined, setting: string): pulumi.Output<string> {
    const fromConfig = config.getSecret("sshPrivateKey");
    if (fromConfig) return fromConfig;
    const file = given === undefined ? undefined : expandHome(given);
    if (!file) {
        throw new ClusterConfigError([{ setting, value: undefined, rule: `is not set and there is no ${CONFIG_NAMESPACE}:sshPrivateKey secret`, fix: `set one of them, e.g. pulumi config set --secret ${CONFIG_NAMESPACE}:sshPrivateKey < key` }]);
    }
    if (!fs.existsSync(file)) {
        // A preview may run where the hosts' key is not (a reviewer's machine, a CI plan job).
        if (pulumi.runtime.isDryRun()) return pulumi.secret(`(preview: ${file} not read)`);
        throw new ClusterConfigError([{ setting, value: given, rule: `names no file on this machine${given !== file ? ` (${file})` : ""}`, fix: "point it at the private key of the hosts' authorized key" }]);
    }
    return pulumi.secret(fs.readFileSync(file, "utf8"));
}

function existingHostsConnections(s: ProgramSettings): Record<string, pulumi.Input<ConnectionArgs>> {
    const key = privateKey(s.ssh.privateKeyFile, `${CONFIG_NAMESPACE}:ssh.privateKeyFile`);
    const proxy = s.ssh.proxy && {
        host: s.ssh.proxy.host,
        user: s.ssh.proxy.user,
        port: s.ssh.proxy.port,
        privateKey: s.ssh.proxy.privateKeyFile ? privateKey(s.ssh.proxy.privateKeyFile, `${CONFIG_NAMESPACE}:ssh.proxy.privateKeyFile`) : key,
    };
    return sshConnections(s.clusterSpec as unknown as ClusterSpec, { user: s.ssh.user, port: s.ssh.port, privateKey: key, ...(proxy ? { proxy } : {}) });
}

/**
 * On AWS: the machines first (at the addresses planned from the stack's settings), then the cluster
 * on them as root over SSH through the bastion or public IPs, each host's steps waiting for its
 * instance, data volume, routes and security group rules.
 */
function awsMachines(s: ProgramSettings, onAws: AwsStackSettings): { hosts: AwsHosts; args: Pick<PostgresHaClusterArgs, "connections" | "hostDependencies" | "dataVolumes" | "frontDoorAddress"> } {
    const hosts = new AwsHosts(awsHostsName(s.cluster.scope), { aws: onAws.aws, plan: onAws.plan, cluster: s.cluster });
    return {
        hosts,
        args: {
            connections: hosts.connections(privateKey(s.ssh.privateKeyFile, `${CONFIG_NAMESPACE}:ssh.privateKeyFile`)),
            hostDependencies: Object.fromEntries(hosts.hosts.map((h) => [h.name, h.dependsOn])),
            dataVolumes: Object.fromEntries(hosts.hosts.flatMap((h) => (h.dataVolume ? [[h.name, h.dataVolume]] : []))),
            frontDoorAddress: onAws.aws.frontDoor === "nlb" ? hosts.nlbDnsName : undefined,
        },
    };
}

const onAws = awsStackSettings(settings);
const machines = onAws && awsMachines(settings, onAws);
const secretOf = (key: string) => config.getSecret(key);
const cluster = new PostgresHaCluster(settings.cluster.scope, {
    cluster: settings.clusterSpec as unknown as ClusterSpec,
    clusterSetting: `${CONFIG_NAMESPACE}:cluster`,
    ...(machines ? machines.args : { connections: existingHostsConnections(settings) }),
    vipMovers: settings.vipMovers,
    secrets: {
        superuserPassword: secretOf("superuserPassword"),
        replicationPassword: secretOf("replicationPassword"),
        rewindPassword: secretOf("rewindPassword"),
        adminPassword: secretOf("adminPassword"),
        restApiPassword: secretOf("restApiPassword"),
        backupS3AccessKeyId: secretOf("backupS3AccessKeyId"),
        backupS3SecretAccessKey: secretOf("backupS3SecretAccessKey"),
        userPasswords: Object.fromEntries(Object.keys(settings.userPasswords).map((r) => [r, pulumi.secret(settings.userPasswords[r])])),
    },
    certificateAuthorities: Object.fromEntries(
        Object.entries(settings.certificateAuthorities).map(([name, ca]) => [name, { certPem: ca.certPem, privateKeyPem: pulumi.secret(ca.privateKeyPem) }]),
    ),
});

if (machines && onAws.aws.frontDoor === "nlb") {
    const first = settings.cluster.hosts.patroni[0].name;
    nlbGate(awsHostsName(settings.cluster.scope), { cluster: settings.cluster, connection: machines.args.connections[first], address: machines.hosts.nlbDnsName, superuserPassword: cluster.superuserPassword, after: [cluster] }, machines.hosts);
}

export const writerEndpoint = cluster.writerEndpoint;
export const readerEndpoint = cluster.readerEndpoint;
export const statsUrl = cluster.statsUrl;
export const connectionString = cluster.connectionString;
export const caCertificate = cluster.caCertificate;
export const superuserPassword = cluster.superuserPassword;
export const adminPassword = cluster.adminPassword;
export const nodes = cluster.nodes;
export const etcdEndpoints = cluster.etcdEndpoints;
/** With backups: where the backups and the WAL archive are; empty otherwise. */
export const backupRepository = cluster.backupRepository;
/** AWS stacks: the VPC, the bastion's public address, each host's instance id, the NLB's DNS name. */
export const aws = machines && {
    vpcId: machines.hosts.vpcId,
    privateSubnetIds: machines.hosts.privateSubnetIds,
    bastionPublicIp: machines.hosts.bastionPublicIp,
    instanceIds: machines.hosts.instanceIds,
    nlbDnsName: machines.hosts.nlbDnsName,
    backupRepository: machines.hosts.backupRepository,
    addressReservations: machines.hosts.addressReservations,
};
