// The AWS-facing host scripts, run for real (bash) with the tools they call stood in for on PATH:
// host-ready takes cloud-init's "recoverable errors" exit code as a finished boot, and the VIP
// re-assert (notify-master.sh --if-holder, run by a systemd timer) acts only on the Keepalived
// MASTER and only when the VPC does not already deliver the VIP there.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import { loadStackConfig } from "../tools/engine";
import { resolveValidCluster } from "../model/validate";
import { appliedFiles, hostReadyScript, KEEPALIVED_INTERFACE, proxyFiles, proxyStartScript } from "../render/files";
import { AWS_SECONDARY_IP, VIP_REASSERT } from "../providers/aws/model";
import { readStackSettings } from "../tools/render";
import type { ClusterSpec } from "../model/types";

const dirs: string[] = [];
afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A directory of stand-in tools (name → shell body) and a log file they can append to. */
function fakeBin(tools: Record<string, string>): { bin: string; log: string } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "aws-scripts-"));
    dirs.push(bin);
    const log = path.join(bin, "calls.log");
    fs.writeFileSync(log, "");
    for (const [name, body] of Object.entries(tools)) fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`, { mode: 0o755 });
    return { bin, log };
}

function run(script: string, bin: string, args: string[] = []): { status: number; stderr: string } {
    const file = path.join(bin, "script.sh");
    fs.writeFileSync(file, script, { mode: 0o755 });
    const r = spawnSync("bash", [file, ...args], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8", timeout: 30_000 });
    return { status: r.status ?? -1, stderr: r.stderr };
}

describe("host-ready and cloud-init's exit codes", () => {
    // cloud-init status exit codes: 0 done, 1 critical error, 2 done with recoverable errors
    // (cloud-init 23.4+; docs.cloud-init.io "Why did `cloud-init status` start returning exit code 2?").
    const localRelease = fs.readFileSync("/etc/os-release", "utf8");
    const debian12 = /^VERSION_ID="12"/m.test(localRelease) && /^ID=debian$/m.test(localRelease);
    const cluster = resolveValidCluster(loadStackConfig("lab-debian12").config["pulumi-patroni:cluster"] as ClusterSpec, "lab-debian12");
    const script = hostReadyScript(cluster);
    const withCloudInit = (code: number) => fakeBin({ "cloud-init": `[ "$1" = status ] && [ "$2" = --wait ] && exit ${code}\nexit 0`, systemctl: "exit 0", hostname: "echo pg1", timeout: 'shift; exec "$@"' });

    it.runIf(debian12).each([0, 2])("goes on when cloud-init status exits %i", (code) => {
        const { bin } = withCloudInit(code);
        expect(run(script, bin)).toMatchObject({ status: 0 });
    });

    it.runIf(debian12)("fails on exit 1 (a critical error), saying so rather than 'did not finish'", () => {
        const { bin } = withCloudInit(1);
        const r = run(script, bin);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("cloud-init failed on pg1 (cloud-init status exited 1)");
    });
});

describe("the VIP re-assert on AWS (dev)", () => {
    const settings = readStackSettings("dev");
    const c = settings.cluster;
    const lb1 = c.hosts.haproxy[0];
    const files = proxyFiles(c, lb1);
    const notify = files.find((f) => f.id === "notify-master")!.content;
    const vip = c.keepalived!.vip;

    /** IMDS answers; `ip` shows the VIP or not; `aws` describes the ENI with `assigned`. */
    function tools(holdsVip: boolean, assigned: string[]) {
        return fakeBin({
            logger: "cat > /dev/null",
            hostname: "echo lb1",
            sleep: "exit 0",
            ip: holdsVip ? `echo "2: ens5    inet ${vip}/18 scope global ens5"` : "exit 0",
            curl: 'case "$*" in *api/token*) echo token ;; *meta-data/mac) echo 0a:00:00:00:00:01 ;; *interface-id) echo eni-0123 ;; *region) echo eu-west-1 ;; esac',
            aws: `case "$2" in describe-network-interfaces) echo "${assigned.join(" ")}" ;; assign-private-ip-addresses) exit 0 ;; esac`,
        });
    }
    const calls = (log: string) => fs.readFileSync(log, "utf8");

    it("on a BACKUP (the VIP not on a local interface): exits 0 and asks AWS nothing", () => {
        const { bin, log } = tools(false, []);
        expect(run(notify, bin, ["--if-holder"]).status).toBe(0);
        expect(calls(log)).not.toMatch(/^(aws|curl) /m);
    });

    it("on the MASTER whose ENI already carries the VIP: describes only, assigns nothing", () => {
        const { bin, log } = tools(true, [lb1.address, vip]);
        expect(run(notify, bin, ["--if-holder"]).status).toBe(0);
        expect(calls(log)).toMatch(/^aws ec2 describe-network-interfaces /m);
        expect(calls(log)).not.toMatch(/assign-private-ip-addresses/);
    });

    it("on the MASTER whose ENI lost the VIP (a healed split): assigns it back", () => {
        // The first describe (before assigning) shows it elsewhere; a real assign would make the second see it.
        const { bin, log } = tools(true, [lb1.address]);
        const aws = path.join(bin, "aws");
        fs.writeFileSync(aws, `#!/bin/bash\necho "aws $*" >> ${log}\ncase "$2" in describe-network-interfaces) if grep -q assign-private ${log}; then echo "${lb1.address} ${vip}"; else echo "${lb1.address}"; fi ;; esac\n`, { mode: 0o755 });
        expect(run(notify, bin, ["--if-holder"]).status).toBe(0);
        expect(calls(log)).toMatch(new RegExp(`^aws ec2 assign-private-ip-addresses --region eu-west-1 --network-interface-id eni-0123 --private-ip-addresses ${vip.replace(/\./g, "\\.")} --allow-reassignment$`, "m"));
    });

    it("is run by a systemd timer every 30 s, bounded, and enabled when the balancer starts", () => {
        const service = files.find((f) => f.id === "vip-reassert-service")!;
        const timer = files.find((f) => f.id === "vip-reassert-timer")!;
        expect(service.path).toBe(`/etc/systemd/system/${VIP_REASSERT.unit}.service`);
        expect(service.content).toContain("ExecStart=/etc/keepalived/notify-master.sh --if-holder");
        expect(service.content).toMatch(/^Type=oneshot$/m);
        expect(service.content).toMatch(new RegExp(`^TimeoutStartSec=${VIP_REASSERT.timeoutSec}$`, "m"));
        expect(timer.content).toMatch(new RegExp(`^OnUnitActiveSec=${VIP_REASSERT.intervalSec}$`, "m"));
        expect(service.reloadSystemd && timer.reloadSystemd).toBe(true);
        expect(proxyStartScript(c, lb1, appliedFiles(files))).toContain(`systemctl enable --now ${VIP_REASSERT.unit}.timer`);
    });

    it("is not installed where the VIP is not an AWS secondary IP (the lab)", () => {
        const lab = resolveValidCluster(loadStackConfig("lab").config["pulumi-patroni:cluster"] as ClusterSpec, "lab");
        const labFiles = proxyFiles(lab, lab.hosts.haproxy[0]);
        expect(labFiles.map((f) => f.id)).not.toContain("vip-reassert-timer");
        expect(proxyStartScript(lab, lab.hosts.haproxy[0], appliedFiles(labFiles))).not.toContain(VIP_REASSERT.unit);
    });
});

describe("the VIP's interface, found from the instance's MAC", () => {
    const links = [
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
        "2: ens5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001 qdisc mq state UP mode DEFAULT group default qlen 1000\\    link/ether 0a:1b:2c:3d:4e:01 brd ff:ff:ff:ff:ff:ff",
        "3: enX1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001 qdisc mq state UP mode DEFAULT group default qlen 1000\\    link/ether 0a:1b:2c:3d:4e:0f brd ff:ff:ff:ff:ff:ff",
    ].join("\n");

    /** The script writing into a temporary directory instead of /etc/keepalived. */
    function runWith(mac: string): { status: number; stderr: string; written: string | undefined } {
        const { bin } = fakeBin({
            hostname: "echo lb1",
            ip: `cat <<'EOF'\n${links}\nEOF`,
            curl: `case "$*" in *api/token*) echo token ;; *meta-data/mac) echo ${mac} ;; esac`,
        });
        const target = path.join(bin, "pgha-interface.conf");
        const r = run(AWS_SECONDARY_IP.interfaceOnHost!.script({ ...KEEPALIVED_INTERFACE, path: target }), bin);
        return { ...r, written: fs.existsSync(target) ? fs.readFileSync(target, "utf8") : undefined };
    }

    it("names the interface whose MAC is the primary ENI's, whatever the image calls it", () => {
        expect(runWith("0a:1b:2c:3d:4e:0f")).toMatchObject({ status: 0, written: `$${KEEPALIVED_INTERFACE.param}=enX1\n` });
        expect(runWith("0A:1B:2C:3D:4E:01")).toMatchObject({ status: 0, written: `$${KEEPALIVED_INTERFACE.param}=ens5\n` });
    });

    it("fails, listing the interfaces, when none has that MAC (not a prefix of another)", () => {
        const r = runWith("0a:1b:2c:3d:4e:0");
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("no network interface of lb1 has the primary ENI's MAC 0a:1b:2c:3d:4e:0");
        expect(r.written).toBeUndefined();
    });
});
