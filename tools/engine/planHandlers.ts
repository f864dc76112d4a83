// Handlers for "plan" mode: plausible outputs, nothing touched.

import type { HandlerContext, HandlerTable, InvokeHandler, ResourceHandler, ResourceProvider } from "./types";
import { randomHandlers } from "./random";
import { tlsHandlers } from "./tls";

/** Computed outputs of an aws: resource that programs commonly read, beyond `id` and `arn`. */
type AwsOutputs = (name: string, inputs: Record<string, unknown>, region: string) => Record<string, unknown>;

/**
 * Per-type extra outputs for aws: resources. Add a row when the program reads a
 * computed output that is missing here; types not listed still get id and arn.
 */
export const AWS_COMPUTED_OUTPUTS: Record<string, AwsOutputs> = {
  "aws:ec2/instance:Instance": (name, inputs) => ({
    privateIp: inputs.privateIp ?? fakeIp(name),
    publicIp: inputs.associatePublicIpAddress === false ? "" : fakeIp(`${name}-public`, 203),
    privateDns: `ip-${fakeIp(name).replace(/\./g, "-")}.ec2.internal`,
    primaryNetworkInterfaceId: `eni-${fakeHex(name, 17)}`,
    instanceState: "running",
  }),
  "aws:ec2/networkInterface:NetworkInterface": (name, inputs) => ({
    privateIp: inputs.privateIp ?? fakeIp(name),
    privateIps: [inputs.privateIp ?? fakeIp(name)],
    macAddress: "02:00:00:00:00:01",
  }),
  "aws:ec2/eip:Eip": (name) => ({ publicIp: fakeIp(name, 203), allocationId: `eipalloc-${fakeHex(name, 17)}` }),
  "aws:ec2/vpc:Vpc": (name) => ({ defaultSecurityGroupId: `sg-${fakeHex(`${name}-default`, 17)}`, mainRouteTableId: `rtb-${fakeHex(name, 17)}` }),
  "aws:ec2/subnet:Subnet": (_name, inputs, region) => ({ availabilityZone: inputs.availabilityZone ?? `${region}a` }),
  "aws:iam/role:Role": (name, inputs) => ({ name: inputs.name ?? `${name}-role`, uniqueId: `AROA${fakeHex(name, 16).toUpperCase()}` }),
  "aws:iam/instanceProfile:InstanceProfile": (name, inputs) => ({ name: inputs.name ?? `${name}-profile` }),
  "aws:lb/loadBalancer:LoadBalancer": (name) => ({ dnsName: `${name}-${fakeHex(name, 8)}.elb.amazonaws.com`, zoneId: "Z00000000PLAN" }),
  "aws:lb/targetGroup:TargetGroup": (name) => ({ name: `${name}-tg` }),
  "aws:ec2/keyPair:KeyPair": (name, inputs) => ({ keyName: inputs.keyName ?? name, fingerprint: "00:00:00:00" }),
};

/** AWS's own id prefixes, so that ids read (and are parsed, e.g. vol-… → NVMe serial) as in AWS. */
export const AWS_ID_PREFIXES: Record<string, string> = {
  "aws:ec2/instance:Instance": "i",
  "aws:ec2/networkInterface:NetworkInterface": "eni",
  "aws:ec2/securityGroup:SecurityGroup": "sg",
  "aws:ec2/subnet:Subnet": "subnet",
  "aws:ec2/vpc:Vpc": "vpc",
  "aws:ec2/internetGateway:InternetGateway": "igw",
  "aws:ec2/natGateway:NatGateway": "nat",
  "aws:ec2/routeTable:RouteTable": "rtb",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
  "aws:ec2/eip:Eip": "eipalloc",
  "aws:ebs/volume:Volume": "vol",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
};

export function planHandlers(): HandlerTable {
  return {
    resources: {
      "command:remote:Command": commandPlaceholder,
      "command:local:Command": commandPlaceholder,
      "command:remote:CopyToRemote": {
        replaceOnChanges: ["triggers"],
        create: async ({ name, rawInputs }) => ({ id: `plan-${name}`, state: { ...rawInputs } }),
        update: async ({ id, rawInputs }) => ({ id, state: { ...rawInputs } }),
      },
      ...randomHandlers("plan"),
      ...tlsHandlers("plan"),
      "pulumi:providers:*": async ({ name, inputs }) => ({ id: `plan-provider-${name}`, state: { ...inputs } }),
      "aws:*": awsResource,
    },
    invokes: {
      "aws:ec2/getAmi:getAmi": async () => ({ id: "ami-0123456789abcdef0", imageId: "ami-0123456789abcdef0", architecture: "x86_64", name: "debian-12-amd64-plan" }),
      "aws:index/getAvailabilityZones:getAvailabilityZones": async (_inputs, ctx) => {
        const region = awsRegion(ctx);
        const names = ["a", "b", "c"].map((suffix) => `${region}${suffix}`);
        return { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), state: "available" };
      },
      "aws:index/getRegion:getRegion": async (_inputs, ctx) => ({ id: awsRegion(ctx), name: awsRegion(ctx), region: awsRegion(ctx) }),
      "aws:index/getCallerIdentity:getCallerIdentity": async () => ({ id: "000000000000", accountId: "000000000000", arn: "arn:aws:iam::000000000000:user/plan", userId: "PLAN" }),
      "aws:index/getPartition:getPartition": async () => ({ id: "aws", partition: "aws", dnsSuffix: "amazonaws.com" }),
    } satisfies Record<string, InvokeHandler>,
  };
}

// Outputs start from rawInputs so secret inputs stay secret, as with the real provider. Like the
// real one (see labHandlers.ts), `triggers` replaces and an update keeps the previous outputs.
const commandPlaceholder: ResourceProvider = {
  replaceOnChanges: ["triggers"],
  computedOutputs: ["stdout", "stderr"],
  create: async ({ name, rawInputs }) => ({ id: `plan-${name}`, state: { ...rawInputs, stdout: "", stderr: "" } }),
  update: async ({ id, rawInputs, oldOutputs }) => ({ id, state: { ...rawInputs, stdout: oldOutputs.stdout ?? "", stderr: oldOutputs.stderr ?? "" } }),
};



const awsResource: ResourceHandler = async ({ name, type, inputs, rawInputs }, ctx) => {
  const region = awsRegion(ctx);
  const id = `${AWS_ID_PREFIXES[type] ?? shortType(type)}-${fakeHex(name, 17)}`;
  const computed = AWS_COMPUTED_OUTPUTS[type]?.(name, inputs, region) ?? {};
  return {
    id,
    state: { ...rawInputs, id, arn: `arn:aws:${type.split(/[:/]/)[1]}:${region}:000000000000:${ARN_RESOURCE_TYPES[type] ?? shortType(type)}/${id}`, ...computed },
  };
};

/** ARN resource-type words that differ from the type token's. */
const ARN_RESOURCE_TYPES: Record<string, string> = {
  "aws:ec2/networkInterface:NetworkInterface": "network-interface",
  "aws:ec2/securityGroup:SecurityGroup": "security-group",
  "aws:ebs/volume:Volume": "volume",
};

function awsRegion(ctx: HandlerContext): string {
  const region = ctx.config["aws:region"];
  return typeof region === "string" && region !== "" ? region : "us-east-1";
}

/** "aws:ec2/securityGroup:SecurityGroup" → "securitygroup". */
function shortType(type: string): string {
  return (type.split(":").pop() ?? type).toLowerCase();
}

/** A stable hash of a name, so the same program plans the same addresses every time. */
function stableHash(text: string): number {
  let hash = 2166136261;
  for (const char of text) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash;
}

function fakeIp(name: string, firstOctet = 10): string {
  const h = stableHash(name);
  return `${firstOctet}.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${(h & 0xfe) + 1}`;
}

function fakeHex(name: string, length: number): string {
  let hex = "";
  for (let i = 0; hex.length < length; i++) hex += stableHash(`${name}#${i}`).toString(16).padStart(8, "0");
  return hex.slice(0, length);
}
