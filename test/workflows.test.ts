// The GitHub workflows that deploy the AWS stacks, read as data:
// - pull-request code never runs with `id-token: write` (GitHub docs, "Security hardening with
//   OpenID Connect": the permission lets the job request the OIDC token that assumes the AWS role);
// - a preview/plan never shares a concurrency group with an `up` (GitHub docs, "Control the
//   concurrency of workflows and jobs": a new run cancels the pending one of its group);
// - the Pulumi token is only in the environment of the Pulumi step, never of `npm ci`, whose
//   dependencies' install scripts run with the step's environment.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const DIR = path.resolve(__dirname, "..", ".github", "workflows");
const workflows = Object.fromEntries(fs.readdirSync(DIR).filter((f) => f.endsWith(".yml")).map((f) => [f, parse(fs.readFileSync(path.join(DIR, f), "utf8"))]));

interface Job {
    name: string;
    file: string;
    if?: string;
    permissions: Record<string, string>;
    concurrency?: string;
    env?: Record<string, string>;
    steps: Array<{ uses?: string; run?: string; env?: Record<string, string> }>;
    uses?: string;
}

const jobs: Job[] = Object.entries(workflows).flatMap(([file, w]) =>
    Object.entries(w.jobs as Record<string, any>).map(([name, j]) => ({
        name,
        file,
        if: j.if,
        permissions: j.permissions ?? w.permissions ?? {},
        concurrency: typeof j.concurrency === "string" ? j.concurrency : j.concurrency?.group,
        env: j.env,
        steps: j.steps ?? [],
        uses: j.uses,
    })),
);

const triggers = (file: string) => Object.keys(workflows[file].on);
/** A job that runs only on a push to main (its `if` says so). */
const pushOnly = (j: Job) => /github\.event_name == 'push'/.test(j.if ?? "") && /github\.ref == 'refs\/heads\/main'/.test(j.if ?? "");
/** A job a pull request can run. */
const runsOnPullRequest = (j: Job) => triggers(j.file).includes("pull_request") && !pushOnly(j);
/** Jobs that deploy: they call pulumi-up.yml or run `pulumi up`. */
const deploys = (j: Job) => j.uses?.endsWith("pulumi-up.yml") || j.steps.some((s) => s.uses?.startsWith("pulumi/actions") && /up/.test(JSON.stringify(s)));

describe("the GitHub workflows", () => {
    it("exist: a pull-request/push workflow and the reusable up", () => {
        expect(Object.keys(workflows).sort()).toEqual(["pulumi-up.yml", "pulumi.yml"]);
    });

    it("never give id-token: write to a job a pull request can run, nor at the top of a workflow a pull request triggers", () => {
        for (const [file, w] of Object.entries(workflows)) {
            if (triggers(file).includes("pull_request")) expect(w.permissions?.["id-token"], file).not.toBe("write");
        }
        for (const j of jobs) {
            if (j.permissions["id-token"] === "write") expect(pushOnly(j), `${j.file} ${j.name}`).toBe(true);
            if (runsOnPullRequest(j)) expect(j.permissions["id-token"], `${j.file} ${j.name}`).not.toBe("write");
        }
    });

    it("keep previews and plans out of the concurrency groups of up", () => {
        const literal = (group: string) => group.split("${{")[0];
        const upGroups = jobs.filter((j) => deploys(j) && j.concurrency).map((j) => literal(j.concurrency!));
        const otherGroups = jobs.filter((j) => runsOnPullRequest(j) && j.concurrency).map((j) => literal(j.concurrency!));
        expect(upGroups.length).toBeGreaterThan(0);
        for (const up of upGroups) for (const other of otherGroups) expect(up.startsWith(other) || other.startsWith(up), `${up} vs ${other}`).toBe(false);
    });

    it("give the Pulumi token to the Pulumi step only, never to npm ci", () => {
        for (const [file, w] of Object.entries(workflows)) expect(JSON.stringify(w.env ?? {}), file).not.toContain("PULUMI_ACCESS_TOKEN");
        for (const j of jobs) {
            expect(JSON.stringify(j.env ?? {}), `${j.file} ${j.name}`).not.toContain("PULUMI_ACCESS_TOKEN");
            for (const step of j.steps) {
                if (JSON.stringify(step.env ?? {}).includes("PULUMI_ACCESS_TOKEN")) expect(step.uses, `${j.file} ${j.name}`).toMatch(/^pulumi\/actions@/);
                if (step.run?.includes("npm ci")) expect(step.env, `${j.file} ${j.name}`).toBeUndefined();
            }
        }
        expect(jobs.some((j) => j.steps.some((s) => JSON.stringify(s.env ?? {}).includes("PULUMI_ACCESS_TOKEN")))).toBe(true);
    });
});
