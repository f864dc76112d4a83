// Keepalived's check on a balancer, run for real (sh) with curl and systemctl stood in for on PATH:
// a balancer leaves VRRP when a peer that answers with the cluster's balancer list no longer lists it
// (it was removed or replaced in the stack and runs until its steps are deleted), and only then; and the
// balancer start step that lets a dropped balancer leave VRRP before it stops sending it adverts.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../tools/engine";
import { resolveValidCluster } from "../model/validate";
import { proxyFiles, proxyStartScript } from "../render/files";
import type { ClusterSpec } from "../model/types";

const cluster = resolveValidCluster(loadStackConfig("lab").config["pulumi-patroni:cluster"] as ClusterSpec, "lab");
const lb1 = cluster.hosts.haproxy[0];
const files = proxyFiles(cluster, lb1);
const check = files.find((f) => f.id === "check-haproxy")!.content;

/** Runs the check with HAProxy active or not and each peer answering `reply` (undefined: no answer). */
function runCheck(haproxyActive: boolean, reply: string | undefined): number {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "check-haproxy-"));
    try {
        fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\nexit ${haproxyActive ? 0 : 3}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "curl"), reply === undefined ? "#!/bin/sh\nexit 28\n" : `#!/bin/sh\nprintf '%s' '${reply}'\n`, { mode: 0o755 });
        const script = path.join(bin, "check.sh");
        fs.writeFileSync(script, check, { mode: 0o755 });
        return spawnSync("sh", [script], { env: { PATH: `${bin}:/usr/bin:/bin` } }).status ?? -1;
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("the balancer's Keepalived check", () => {
    const [a, b] = cluster.hosts.haproxy.map((h) => h.address);
    it("passes while HAProxy runs and the peer lists this balancer", () => {
        expect(runCheck(true, `pgha-balancers ${a} ${b}`)).toBe(0);
    });
    it("fails when HAProxy is down", () => {
        expect(runCheck(false, `pgha-balancers ${a} ${b}`)).not.toBe(0);
    });
    it("fails when a peer that answers no longer lists this balancer (it left the stack)", () => {
        expect(runCheck(true, `pgha-balancers 10.251.17.33 ${b}`)).not.toBe(0);
    });
    it("passes when the peer does not answer, or answers something else (its stats page: an older configuration)", () => {
        expect(runCheck(true, undefined)).toBe(0);
        expect(runCheck(true, "<html><body>Statistics Report</body></html>")).toBe(0);
    });
    it("does not take a longer address that starts with this one for this one", () => {
        expect(runCheck(true, `pgha-balancers ${a}0 ${b}`)).not.toBe(0);
    });
});

/**
 * The balancer's start step run for real (bash) with curl, systemctl and sleep stood in for: what its
 * running HAProxy publishes is `published`; returns the systemctl reloads and sleeps, in order.
 */
function runStart(published: string | undefined): string[] {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "proxy-start-"));
    const calls = path.join(bin, "calls");
    try {
        fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\ncase "$1" in reload|restart) echo "$1 $2" >> '${calls}' ;; esac\nexit 0\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "sleep"), `#!/bin/sh\necho "sleep $1" >> '${calls}'\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "curl"), published === undefined ? "#!/bin/sh\nexit 7\n" : `#!/bin/sh\nprintf '%s' '${published}'\n`, { mode: 0o755 });
        const script = path.join(bin, "start.sh");
        fs.writeFileSync(script, proxyStartScript(cluster, lb1, []), { mode: 0o755 });
        const r = spawnSync("bash", [script], { env: { PATH: `${bin}:/usr/bin:/bin` }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
        expect(r.status, r.stderr).toBe(0);
        return fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

describe("the balancer's start step", () => {
    const [a, b] = cluster.hosts.haproxy.map((h) => h.address);
    const k = cluster.keepalived!;
    const drain = `sleep ${(k.checkFall + 1) * k.checkIntervalSec + 1}`;
    it("reloads HAProxy, then Keepalived, at once when no balancer was dropped (same list, one added, or none published yet)", () => {
        expect(runStart(`pgha-balancers ${a} ${b}`)).toEqual(["reload haproxy", "reload keepalived"]);
        expect(runStart(`pgha-balancers ${a}`)).toEqual(["reload haproxy", "reload keepalived"]);
        expect(runStart(undefined)).toEqual(["reload haproxy", "reload keepalived"]);
    });
    it("waits, between the two, until a balancer its HAProxy no longer lists has failed its check and left VRRP", () => {
        // lb3 replaced by lb2: the running HAProxy still publishes lb3, haproxy.cfg no longer does.
        expect(runStart(`pgha-balancers ${a} 10.251.17.33`)).toEqual(["reload haproxy", drain, "reload keepalived"]);
    });
    it("does not take a peer whose address starts with a listed one for that one", () => {
        expect(runStart(`pgha-balancers ${a} ${b}0`)).toEqual(["reload haproxy", drain, "reload keepalived"]);
    });
});
