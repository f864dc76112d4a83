/**
 * Backups on AWS: the S3 bucket a cluster's pgBackRest repository lives in, and what the Patroni
 * hosts may do with it. The cluster spec names the bucket (`cluster.backup.repository.s3`), so that
 * pgbackrest.conf renders before anything exists; AwsHosts creates the bucket and the instance role
 * the members reach it with (`keyType: auto`: pgBackRest takes the instance's temporary credentials).
 * No Pulumi imports.
 */
import type { ValidationIssue } from "../../model/validate";

/** Days a version that pgBackRest's expire replaced or deleted is kept (versioning undoes a mistaken delete for that long). */
export const BACKUP_NONCURRENT_VERSION_DAYS = 30;
/** Days before an upload pgBackRest never finished is aborted (its parts cost storage). */
export const BACKUP_ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

/** The backup bucket's rules, in the form `aws.s3.BucketLifecycleConfiguration` takes them. */
export const BACKUP_BUCKET_LIFECYCLE = [
    {
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: BACKUP_NONCURRENT_VERSION_DAYS },
        abortIncompleteMultipartUpload: { daysAfterInitiation: BACKUP_ABORT_INCOMPLETE_UPLOAD_DAYS },
    },
];

/**
 * What the Patroni hosts' role may do: list the bucket, and read, write and delete the objects under
 * the repository's path (pgBackRest archives, backs up, restores and expires); nothing else anywhere.
 */
export function backupBucketPolicy(bucketArn: string, repositoryPath: string): object {
    const prefix = repositoryPath.replace(/^\/+|\/+$/g, "");
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ListTheRepository", Effect: "Allow", Action: ["s3:ListBucket"], Resource: bucketArn, Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } } },
            { Sid: "ReadWriteTheRepository", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucketArn}/${prefix}/*` },
        ],
    };
}

/** The cluster's backup settings as an AWS stack can have them: an S3 repository reached with the instance role. */
export function validateAwsBackup(cluster: Record<string, unknown>, clusterRoot: string): ValidationIssue[] {
    const backup = cluster.backup as { enabled?: boolean; repository?: { kind?: string; s3?: { keyType?: string } } } | undefined;
    if (!backup?.enabled) return [];
    const at = `${clusterRoot}.backup.repository`;
    const kind = backup.repository?.kind ?? "host";
    if (kind !== "s3") {
        return [{ setting: `${at}.kind`, value: kind, rule: "must be s3 on AWS: the program makes the bucket and the instance role the members reach it with (it plans no repository host)", fix: `set ${at}.kind: s3 with ${at}.s3 naming the bucket, e.g. { bucket: <scope>-backups, region: <aws:region>, endpoint: s3.<aws:region>.amazonaws.com, keyType: auto }` }];
    }
    const keyType = backup.repository?.s3?.keyType ?? "shared";
    if (keyType !== "auto") {
        return [{ setting: `${at}.s3.keyType`, value: keyType, rule: "must be auto on AWS: the Patroni hosts reach the bucket with their instance role, no access key", fix: `set ${at}.s3.keyType: auto` }];
    }
    return [];
}
