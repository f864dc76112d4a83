/**
 * Cloud-init user data. Cloud images log in as admin/ubuntu/rocky and put a "please log in as"
 * command in front of root's key; `disable_root: false` installs the key pair for root as it is, so
 * the program connects as root (its scripts run as root).
 */
export function cloudConfig(hostName: string, rootLogin: boolean): string {
    return ["#cloud-config", `hostname: ${hostName}`, "preserve_hostname: false", ...(rootLogin ? ["disable_root: false"] : []), ""].join("\n");
}
