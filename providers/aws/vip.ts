/**
 * The VIP in a VPC (`keepalived.moveVipWith: aws-secondary-ip`): a VPC delivers an address only to
 * the ENI it is assigned to, so notify_master assigns the VIP as a secondary private IP of the new
 * MASTER's primary ENI (IMDSv2 and the EC2 API), a timer re-asserts it there, and Keepalived's
 * interface is that ENI's, found on the host from the instance's MAC. No Pulumi imports.
 */
import type { OsRelease, VipMover, VipMoverUnit } from "../../model/types";
import { renderAwsTemplate } from "./templates";

/** The timer that re-asserts the VIP on the MASTER (notify_master runs on transitions only). */
export const VIP_REASSERT = { unit: "pgha-vip-reassert", intervalSec: 30, timeoutSec: 90 } as const;

/**
 * How the AWS CLI (which notify_master calls) is installed.
 * Ubuntu 24.04 dropped the awscli package for a snap; EPEL 9 (enabled for PGDG) ships awscli2.
 */
export function awsCliInstall(release: OsRelease): { packages: string[]; commands: string[] } {
    switch (release) {
        case "ubuntu24.04":
            return { packages: [], commands: ["command -v aws >/dev/null || snap install aws-cli --classic"] };
        case "rocky9":
        case "alma9":
            return { packages: ["awscli2"], commands: [] };
        default:
            return { packages: ["awscli"], commands: [] };
    }
}

/** The reassert service and timer; the start step enables the timer. */
function reassertUnits(vip: string, notifyMasterPath: string): VipMoverUnit[] {
    return (["service", "timer"] as const).map((kind) => ({
        id: `vip-reassert-${kind}`,
        unit: `${VIP_REASSERT.unit}.${kind}`,
        content: renderAwsTemplate(`${VIP_REASSERT.unit}.${kind}`, { ...VIP_REASSERT, vip, script: notifyMasterPath }),
        ...(kind === "timer" ? { enable: "A VIP moved as an AWS secondary IP: the timer re-asserts it on the MASTER." } : {}),
    }));
}

/**
 * The VIP as a secondary private IP of the MASTER's ENI (`aws ec2 assign-private-ip-addresses
 * --allow-reassignment`); the instance needs a profile allowing it (AwsHosts creates one).
 */
export const AWS_SECONDARY_IP: VipMover = {
    name: "aws-secondary-ip",
    install: awsCliInstall,
    notifyMaster: (vip) => {
        const data = { vip, reassertUnit: VIP_REASSERT.unit, reassertIntervalSec: VIP_REASSERT.intervalSec };
        return { note: renderAwsTemplate("notify-master-note.sh", data), commands: renderAwsTemplate("notify-master-move.sh", data) };
    },
    units: ({ vip, notifyMasterPath }) => reassertUnits(vip, notifyMasterPath),
    interfaceOnHost: {
        note: "the interface of this instance's primary ENI, found from its MAC.",
        script: (file) => renderAwsTemplate("keepalived-interface.sh", file),
    },
};
