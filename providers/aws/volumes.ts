/**
 * Data volumes on AWS: every etcd and Patroni host keeps its data on an EBS volume of its own,
 * found on the host by the volume's id and mounted before anything is installed. No Pulumi imports.
 */
import * as path from "path";
import type { ResolvedCluster } from "../../model/types";
import { dataMountPoint, GATE_TIMEOUTS_SEC } from "../../render/files";
import type { PlannedVolume } from "../../render/plan";
import { renderAwsTemplate } from "./templates";

/** The device name data volumes are attached as (Nitro instances show them as NVMe devices instead). */
export const DATA_DEVICE_NAME = "/dev/sdf";

/** Where an EBS data volume goes: its attachment's device name and its mount point. */
export interface EbsVolumeLayout {
    deviceName: string;
    mountPoint: string;
}

/** The EBS data volume of every etcd and Patroni host, by host name. */
export function awsDataVolumes(c: ResolvedCluster): Record<string, EbsVolumeLayout> {
    const volumes: Record<string, EbsVolumeLayout> = {};
    for (const role of ["etcd", "patroni"] as const) {
        for (const h of c.hosts[role]) volumes[h.name] = { deviceName: DATA_DEVICE_NAME, mountPoint: dataMountPoint(c, role) };
    }
    return volumes;
}

/** Formats (once) and mounts the EBS data volume `volumeId` on `hostName`; see templates/mount-data.sh.hbs. */
export function ebsMountScript(c: ResolvedCluster, hostName: string, volume: EbsVolumeLayout & { volumeId: string }): string {
    return renderAwsTemplate("mount-data.sh", {
        hostName,
        layout: c.layout,
        volumeId: volume.volumeId,
        nvmeSerial: volume.volumeId.replace("-", ""),
        xenDevice: volume.deviceName.replace(/^\/dev\/sd/, "/dev/xvd"),
        mountPoint: volume.mountPoint,
        label: path.posix.basename(volume.mountPoint).slice(0, 12),
        timeoutSec: GATE_TIMEOUTS_SEC.volume,
    });
}

/** A host's EBS data volume as the plan sees it before the volume exists. */
export function ebsPlannedVolume(c: ResolvedCluster, hostName: string, layout: EbsVolumeLayout): PlannedVolume {
    return { mountScript: (volumeId) => ebsMountScript(c, hostName, { volumeId, ...layout }) };
}
