// Backups on AWS (providers/aws/backup.ts, AwsHosts): the cluster names its S3 repository and the
// program makes the bucket (versioned, encrypted, no public access, old versions expired) and the
// instance role the Patroni hosts reach it with, scoped to the repository's path; the dev stack under
// plan mode, and the settings an AWS stack cannot have.
import { describe, expect, it, beforeAll } from "vitest";
import { parseStackConfig } from "../model/config";
import { ClusterConfigError, formatIssue, type ValidationIssue } from "../model/validate";
import { STACK_PROVIDERS } from "../providers";
import { BACKUP_BUCKET_LIFECYCLE, backupBucketPolicy } from "../providers/aws/model";
import { loadStackConfig, runProgram, type RecordedResource, type RunResult } from "../tools/engine";
import { readStackFile } from "../tools/render";
import * as path from "path";

const PROGRAM = path.resolve(__dirname, "..", "index.ts");
const C = "pulumi-patroni:cluster";
const S3 = { bucket: "orders-dev-backups", region: "eu-west-1", endpoint: "s3.eu-west-1.amazonaws.com", keyType: "auto" };

function devCluster(backup: unknown): Record<string, unknown> {
    return { ...JSON.parse(readStackFile("dev")[C]), backup };
}

function issuesOf(backup: unknown): ValidationIssue[] {
    try {
        parseStackConfig({ ...readStackFile("dev"), [C]: JSON.stringify(devCluster(backup)) }, "dev", STACK_PROVIDERS);
    } catch (err) {
        expect(err).toBeInstanceOf(ClusterConfigError);
        return (err as ClusterConfigError).issues;
    }
    return [];
}

describe("the backup settings of an AWS stack", () => {
    it("an S3 repository reached with the instance role is accepted", () => {
        expect(issuesOf({ enabled: true, repository: { kind: "s3", s3: S3 } })).toEqual([]);
    });

    it("a repository host, or an access key, is refused with the fix", () => {
        const host = issuesOf({ enabled: true });
        expect(host.map(formatIssue)).toEqual([expect.stringMatching(/^pulumi-patroni:cluster\.backup\.repository\.kind: must be s3 on AWS: .* \(got "host"\)\. Fix: set pulumi-patroni:cluster\.backup\.repository\.kind: s3 /)]);
        const shared = issuesOf({ enabled: true, repository: { kind: "s3", s3: { ...S3, keyType: "shared" } } });
        expect(shared.map(formatIssue)).toEqual([expect.stringMatching(/^pulumi-patroni:cluster\.backup\.repository\.s3\.keyType: must be auto on AWS.* \(got "shared"\)\. Fix: set pulumi-patroni:cluster\.backup\.repository\.s3\.keyType: auto$/)]);
    });

    it("the role may list the repository's path and read, write and delete under it, nothing more", () => {
        expect(backupBucketPolicy("arn:aws:s3:::b", "/pgbackrest")).toEqual({
            Version: "2012-10-17",
            Statement: [
                { Sid: "ListTheRepository", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::b", Condition: { StringLike: { "s3:prefix": ["pgbackrest", "pgbackrest/*"] } } },
                { Sid: "ReadWriteTheRepository", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::b/pgbackrest/*" },
            ],
        });
    });
});

describe("the dev stack with backups, under plan mode", () => {
    let run: RunResult;
    const get = (name: string): RecordedResource => {
        const found = run.resources.find((r) => r.name === name);
        if (!found) throw new Error(`no resource ${name}; have ${run.resources.map((r) => r.name).join(", ")}`);
        return found;
    };
    beforeAll(async () => {
        const { config, secretKeys } = loadStackConfig("dev");
        run = await runProgram({ programPath: PROGRAM, stack: "dev", config: { ...config, [C]: devCluster({ enabled: true, repository: { kind: "s3", s3: S3 } }) }, secretKeys, mode: "plan", timeoutMs: 120_000, onProgramOutput: () => undefined });
    }, 180_000);

    it("makes the bucket versioned, encrypted, closed to the public, with old versions expired, and keeps it on destroy", () => {
        const bucket = get("orders-dev-aws-backup-bucket");
        expect(bucket.inputs).toMatchObject({ bucket: "orders-dev-backups", forceDestroy: false });
        expect(get("orders-dev-aws-backup-versioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
        expect(get("orders-dev-aws-backup-encryption").inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
        expect(get("orders-dev-aws-backup-public-access").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(get("orders-dev-aws-backup-lifecycle").inputs.rules).toEqual(BACKUP_BUCKET_LIFECYCLE);
    });

    it("gives the Patroni hosts, and only them, the role scoped to the bucket; their steps wait for the bucket", () => {
        const policy = get("orders-dev-aws-patroni-backup-bucket");
        const arn = String(get("orders-dev-aws-backup-bucket").outputs.arn);
        expect(JSON.parse(String(policy.inputs.policy))).toEqual(backupBucketPolicy(arn, "/pgbackrest"));
        const profile = String(get("orders-dev-aws-patroni-profile").outputs.name);
        for (const h of ["pg1", "pg2", "pg3"]) expect(get(`orders-dev-aws-instance-${h}`).inputs.iamInstanceProfile, h).toBe(profile);
        for (const h of ["etcd1", "etcd2", "etcd3"]) expect(get(`orders-dev-aws-instance-${h}`).inputs.iamInstanceProfile, h).toBeUndefined();
        expect(get("orders-dev-patroni-install-pg1").waitsFor).toEqual(expect.arrayContaining(["orders-dev-aws-backup-bucket", "orders-dev-aws-patroni-profile"]));
    });

    it("renders the members' pgBackRest for the bucket with the instance's credentials, and exports the repository", () => {
        const conf = String(get("orders-dev-patroni-pgbackrest-conf-pg1").inputs.stdin);
        expect(conf).toContain("repo1-type=s3\nrepo1-path=/pgbackrest\nrepo1-s3-bucket=orders-dev-backups\nrepo1-s3-region=eu-west-1\nrepo1-s3-endpoint=s3.eu-west-1.amazonaws.com\nrepo1-s3-uri-style=host\nrepo1-s3-key-type=auto\n");
        expect(conf).not.toContain("repo1-s3-key=");
        expect((run.outputs.aws as Record<string, unknown>).backupRepository).toBe("s3://orders-dev-backups/pgbackrest");
    });
});
