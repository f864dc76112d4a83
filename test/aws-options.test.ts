// AwsHosts under pulumi.runtime.setMocks, for what the plan-mode engine does not record: resource
// options (ignoreChanges, retainOnDelete, dependsOn) and the data-source queries. A transformation
// on the component sees every child's options as Pulumi gets them.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../model/config";
import { STACK_PROVIDERS } from "../providers";
import { AwsHosts, awsHostsName, awsStackSettings } from "../providers/aws";
import { readStackFile } from "../tools/render";

interface Seen {
    type: string;
    name: string;
    props: Record<string, any>;
    opts: pulumi.CustomResourceOptions;
}

const invokes: Array<{ token: string; inputs: Record<string, any> }> = [];

pulumi.runtime.setMocks(
    {
        newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:ec2:eu-west-1:123456789012:x/${args.name}` } }),
        call: (args) => {
            invokes.push({ token: args.token, inputs: args.inputs });
            if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0123456789abcdef0" };
            if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] };
            return {};
        },
    },
    "pulumi-patroni",
    "test",
    true,
);

/** Builds a stack's AwsHosts and returns every child as Pulumi saw it. */
function build(stack: string, mutate: (aws: Record<string, any>) => void = () => undefined): Seen[] {
    const all = { ...readStackFile(stack) };
    const aws = JSON.parse(all["pulumi-patroni:aws"]);
    mutate(aws);
    all["pulumi-patroni:aws"] = JSON.stringify(aws);
    const s = parseStackConfig(all, stack, STACK_PROVIDERS);
    const seen: Seen[] = [];
    new AwsHosts(
        awsHostsName(s.cluster.scope),
        { ...awsStackSettings(s)!, cluster: s.cluster },
        {
            transformations: [
                (t) => {
                    seen.push({ type: t.type, name: t.name, props: t.props, opts: t.opts as pulumi.CustomResourceOptions });
                    return undefined;
                },
            ],
        },
    );
    return seen;
}

const ofType = (seen: Seen[], type: string) => seen.filter((r) => r.type === type);
/** Names of the resources in a `dependsOn` (the component passes plain arrays of resources). */
const names = (rs: pulumi.CustomResourceOptions["dependsOn"]) => ((rs ?? []) as pulumi.Resource[]).map((r) => (r as unknown as { __name: string }).__name);

const runs: Record<string, Seen[]> = {};
beforeAll(() => {
    for (const stack of ["dev", "staging", "prod"]) runs[stack] = build(stack);
});

describe("no surprise replacements", () => {
    it("every instance keeps the image and user data it was created with", () => {
        for (const [stack, seen] of Object.entries(runs)) {
            const instances = ofType(seen, "aws:ec2/instance:Instance");
            expect(instances.length, stack).toBeGreaterThan(0);
            for (const i of instances) expect(i.opts.ignoreChanges, `${stack} ${i.name}`).toEqual(expect.arrayContaining(["ami", "userData"]));
        }
    });

    it("aws.image pins the AMI of new instances instead of the newest one", () => {
        const seen = build("dev", (a) => (a.image = "ami-0fedcba9876543210"));
        for (const i of ofType(seen, "aws:ec2/instance:Instance")) expect(i.props.ami, i.name).toBe("ami-0fedcba9876543210");
    });

    it("a created VPC spreads over the region's own availability zones, never Local or Wavelength Zones", () => {
        // EC2 DescribeAvailabilityZones filters: opt-in-status, zone-type.
        const query = invokes.find((i) => i.token === "aws:index/getAvailabilityZones:getAvailabilityZones")!;
        expect(query.inputs).toMatchObject({
            state: "available",
            filters: expect.arrayContaining([
                { name: "opt-in-status", values: ["opt-in-not-required"] },
                { name: "zone-type", values: ["availability-zone"] },
            ]),
        });
    });

    it("data volumes are kept on destroy by default, deleted with the stack only when asked; detached from a stopped instance", () => {
        for (const [stack, seen] of Object.entries(runs)) {
            for (const v of ofType(seen, "aws:ebs/volume:Volume")) expect(v.opts.retainOnDelete, `${stack} ${v.name}`).toBe(true);
            for (const at of ofType(seen, "aws:ec2/volumeAttachment:VolumeAttachment")) expect(at.props.stopInstanceBeforeDetaching, `${stack} ${at.name}`).toBe(true);
        }
        const deleting = build("dev", (a) => (a.volumes = { ...a.volumes, deleteWithStack: true }));
        for (const v of ofType(deleting, "aws:ebs/volume:Volume")) expect(v.opts.retainOnDelete, v.name).toBe(false);
    });
});

describe("the VIP survives a refresh, and planned addresses are reserved", () => {
    it.each(["dev", "prod"])("%s: the balancers' ENIs leave their secondary private IPs to Keepalived", (stack) => {
        const enis = ofType(runs[stack], "aws:ec2/networkInterface:NetworkInterface");
        expect(enis).toHaveLength(2);
        for (const e of enis) expect(e.opts.ignoreChanges, e.name).toEqual(expect.arrayContaining(["privateIps", "privateIpsCount", "privateIpList"]));
    });

    it("dev (created VPC): explicit reservations of exactly the planned addresses, before any instance or ENI takes one", () => {
        const seen = runs.dev;
        const reservations = ofType(seen, "aws:ec2/subnetCidrReservation:SubnetCidrReservation");
        expect(reservations.map((r) => r.props.cidrBlock).sort()).toEqual(
            // zone 0: etcd1 .10, pg1 .20, lb1+lb2 .30-.31, the VIP .50; zones 1 and 2: etcd .10, pg .20
            ["10.40.0.10/32", "10.40.0.20/32", "10.40.0.30/31", "10.40.0.50/32", "10.40.64.10/32", "10.40.64.20/32", "10.40.128.10/32", "10.40.128.20/32"].sort(),
        );
        for (const r of reservations) expect(r.props.reservationType, r.name).toBe("explicit");
        for (const r of [...ofType(seen, "aws:ec2/instance:Instance"), ...ofType(seen, "aws:ec2/networkInterface:NetworkInterface")]) {
            expect(names(r.opts.dependsOn).sort(), r.name).toEqual(reservations.map((x) => x.name).sort());
        }
    });

    it("staging (bastion): the bastion's address is reserved in the public subnet, before the NAT gateway picks one", () => {
        const seen = runs.staging;
        const reservations = ofType(seen, "aws:ec2/subnetCidrReservation:SubnetCidrReservation");
        const publicOnes = reservations.filter((r) => r.name.includes("-reserve-public-"));
        expect(publicOnes.map((r) => r.props.cidrBlock)).toEqual(["10.41.192.10/32"]);
        expect(names(ofType(seen, "aws:ec2/natGateway:NatGateway")[0].opts.dependsOn)).toEqual(expect.arrayContaining(publicOnes.map((r) => r.name)));
    });

    it("prod (existing subnets): reserves nothing itself (their owner does, see the README)", () => {
        expect(ofType(runs.prod, "aws:ec2/subnetCidrReservation:SubnetCidrReservation")).toEqual([]);
    });
});
