/** The machine images per release: whose AMI, which name, who logs in. No Pulumi imports. */
import type { AwsArchitecture, AwsOs } from "./spec";

/** Facts per release: where its AMI comes from and who logs in (the interface is found on the host, from its MAC). */
export interface AwsImage {
    /** AMI owner account (the distribution's own). */
    owner: string;
    /** `name` filter of the AMI lookup, newest match wins. */
    namePattern: Record<AwsArchitecture, string>;
    /** The image's default login user (the bastion is reached as this user). */
    loginUser: string;
}

export const AWS_IMAGES: Record<AwsOs, AwsImage> = {
    debian12: {
        owner: "136693071363",
        namePattern: { x86_64: "debian-12-amd64-*", arm64: "debian-12-arm64-*" },
        loginUser: "admin",
    },
    debian13: {
        owner: "136693071363",
        namePattern: { x86_64: "debian-13-amd64-*", arm64: "debian-13-arm64-*" },
        loginUser: "admin",
    },
    "ubuntu24.04": {
        owner: "099720109477",
        namePattern: {
            x86_64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
            arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
        },
        loginUser: "ubuntu",
    },
    rocky9: {
        owner: "792107900819",
        namePattern: { x86_64: "Rocky-9-EC2-Base-9.*.x86_64", arm64: "Rocky-9-EC2-Base-9.*.aarch64" },
        loginUser: "rocky",
    },
};
