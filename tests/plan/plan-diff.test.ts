/**
 * `npm run plan:diff` against real git refs: the repository is copied into a temporary git repository (this
 * checkout's node_modules linked in), config changes are made there, committed or not, and the tool is run as a
 * user would run it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { PlanDiff } from "../../tools/plan/diff";
import { ROOT } from "../helpers/graph";
import { runTsx, type PlanRun } from "../helpers/plan-cli";

let repo: string;
let scratch: string;
const devFile = (): string => path.join(repo, "Pulumi.dev.yaml");
let devOriginal: string;

function git(...args: string[]): string {
    return execFileSync("git", args, { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

before(() => {
    repo = mkdtempSync(path.join(tmpdir(), "homelab-plandiff-repo-"));
    scratch = mkdtempSync(path.join(tmpdir(), "homelab-plandiff-tmp-"));
    // The files git would commit from this checkout (tracked and new, not ignored), as they are now.
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f !== "" && !f.startsWith("node_modules/"));
    for (const f of files) {
        try {
            mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
            cpSync(path.join(ROOT, f), path.join(repo, f));
        } catch {
            // a tracked file deleted in the working tree
        }
    }
    symlinkSync(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"), "dir");
    git("init", "-q", "-b", "main");
    // .gitignore ignores node_modules/ (a folder); the link is a file to git.
    writeFileSync(path.join(repo, ".git", "info", "exclude"), "/node_modules\n");
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "base");
    devOriginal = readFileSync(devFile(), "utf8");
});

after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
});

/** Temporary folders plan:diff left in the scratch TMPDIR (tsx keeps its own cache there). */
function leftovers(): string[] {
    return readdirSync(scratch).filter((f) => f.startsWith("homelab-"));
}

/** Runs the copy's plan:diff with TMPDIR pointing at a scratch folder, so leftovers can be counted. */
function planDiff(args: string[]): Promise<PlanRun> {
    return runTsx(path.join(repo, "tools/plan-diff.ts"), args, repo, { ...process.env, TMPDIR: scratch });
}

async function diffJson(args: string[]): Promise<PlanDiff> {
    const run = await planDiff([...args, "--format", "json"]);
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { stacks: { stack: string; diff: PlanDiff }[] };
    assert.equal(out.stacks.length, 1);
    return out.stacks[0].diff;
}

/** Edits the dev stack file in the working tree (not committed) by appending config keys. */
function setDev(extra: string): void {
    writeFileSync(devFile(), `${devOriginal}${extra}`);
}

const names = (xs: readonly { entry: { name: string } }[]): string[] => xs.map((x) => x.entry.name);

test("no change: every stack is compared (discovered from Pulumi.*.yaml) and reports no changes, exit 0", async () => {
    writeFileSync(devFile(), devOriginal);
    const run = await planDiff(["--base", "main"]);
    assert.equal(run.status, 0, run.stderr);
    const stacks = [...run.stdout.matchAll(/^Plan diff for stack "([^"]+)": main \([0-9a-f]{7}\) → working tree$/gm)].map((m) => m[1]);
    const files = readdirSync(repo).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
    assert.deepEqual(stacks.sort(), files.sort());
    assert.equal(run.stdout.match(/^No changes\.$/gm)?.length, files.length);
    assert.deepEqual(leftovers(), [], "the base tree is removed afterwards");
});

test("a kubernetesVersion change re-runs prepare and init (scripts as unified diffs) and replaces no membership", async () => {
    setDev('  homelab:kubernetesVersion: "1.33.9"\n');
    const diff = await diffJson(["--base", "main", "--stack", "dev"]);
    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
    assert.deepEqual(diff.hazards, []);
    const changed = new Map(diff.changed.map((c) => [c.name, c]));
    for (const node of ["cp1", "worker1", "worker2"]) {
        assert.equal(changed.get(`${node}-prepare-script`)?.replace, false, "the staged script is re-uploaded in place");
        assert.equal(changed.get(`${node}-prepare`)?.replace, true, "prepare re-runs (its trigger is the script hash)");
        assert.equal(changed.has(`${node}-membership`), false);
    }
    assert.equal(changed.get("cp1-init")?.replace, true);
    const text = await planDiff(["--base", "main", "--stack", "dev"]);
    assert.match(text.stdout, /~ {2}cp1-prepare-script {2}\[command:remote:CopyToRemote\] in cp1 {2}update\n {5}source: \d+ → \d+ lines\n {7}--- base\/source\n {7}\+\+\+ head\/source\n {7}@@ [^\n]+ @@\n(?: {7}[^\n]*\n)*? {7}-readonly K8S_VERSION='1\.33\.10'\n {7}\+readonly K8S_VERSION='1\.33\.9'\n/);
    assert.match(text.stdout, /^\+- cp1-init {2}\[command:remote:Command\] in cp1 {2}REPLACE because triggers\[1\]$/m);
    assert.doesNotMatch(text.stdout, /DESTRUCTIVE/);
});

test("a ciliumValues change is a Helm upgrade shown as a YAML diff of the values", async () => {
    setDev('  homelab:ciliumValues: "hubble: {relay: {enabled: true}}"\n');
    const diff = await diffJson(["--base", "main", "--stack", "dev"]);
    const release = diff.changed.find((c) => c.name === "cilium-release");
    assert.equal(release?.replace, false);
    assert.deepEqual(release?.inputs.flatMap((i) => i.paths), ["values.hubble.relay.enabled"]);
    const md = await planDiff(["--base", "main", "--stack", "dev", "--format", "markdown"]);
    assert.equal(md.status, 0, md.stderr);
    assert.match(md.stdout, /^<!-- homelab-plan-diff -->\n## Offline plan diff\n/);
    assert.match(md.stdout, /update <code>cilium-release<\/code> · kubernetes:helm\.sh\/v3:Release in cilium<\/summary>/);
    assert.match(md.stdout, /```diff\n--- base\/values\n\+\+\+ head\/values\n@@ [^\n]+ @@\n(?:[^\n]*\n)*? {3}relay:\n- {4}enabled: false\n\+ {4}enabled: true\n/);
});

test("adding a node adds only that node's resources; nothing else is renamed or replaced", async () => {
    const nodes = (YAML_NODES: string): string => `  homelab:nodes: |\n${YAML_NODES}`;
    const current = /homelab:nodes: \|\n((?: {4}.*\n)+)/.exec(devOriginal)?.[1] ?? "";
    writeFileSync(
        devFile(),
        devOriginal.replace(/ {2}homelab:nodes: \|\n(?: {4}.*\n)+/, nodes(`${current}    - name: worker3\n      host: 192.0.2.13\n      role: worker\n`)),
    );
    const diff = await diffJson(["--base", "main", "--stack", "dev"]);
    assert.ok(diff.added.length >= 8);
    assert.ok(names(diff.added).every((n) => n.startsWith("worker3-")), names(diff.added).join(", "));
    assert.deepEqual(diff.removed, []);
    assert.deepEqual(diff.hazards, []);
    // Only the checks that list every node change; no existing node's resource does.
    assert.deepEqual(
        diff.changed.filter((c) => /^(cp1|worker1|worker2)-/.test(c.name)).map((c) => c.name),
        [],
    );
});

test("removing a node is flagged: its membership's delete runs kubeadm reset", async () => {
    writeFileSync(devFile(), devOriginal.replace(/ {4}- name: worker2\n(?: {6}.*\n)+/, ""));
    const run = await planDiff(["--base", "main", "--stack", "dev"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^!! DESTRUCTIVE: worker2-membership would be REMOVED: its delete runs `kubeadm reset` and wipes the node$/m);
    assert.doesNotMatch(run.stdout, /DESTRUCTIVE: (cp1|worker1)-/);
});

test("committed changes: --base HEAD~1 shows them, --base HEAD shows none; a new stack file is all additions", async () => {
    writeFileSync(devFile(), devOriginal);
    writeFileSync(path.join(repo, "Pulumi.tiny.yaml"), readFileSync(path.join(repo, "Pulumi.labbox.yaml"), "utf8").replace("labbox", "tiny"));
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "tiny stack");
    try {
        const run = await planDiff(["--base", "HEAD~1", "--stack", "tiny", "--format", "json"]);
        assert.equal(run.status, 0, run.stderr);
        const out = JSON.parse(run.stdout) as { base: { commit: string }; stacks: { note?: string; diff: PlanDiff }[] };
        assert.equal(out.base.commit, git("rev-parse", "HEAD~1").trim());
        assert.equal(out.stacks[0].note, "new stack: no stack file at the base");
        assert.ok(out.stacks[0].diff.added.length > 20);
        assert.equal(out.stacks[0].diff.changed.length + out.stacks[0].diff.removed.length, 0);
        const none = await planDiff(["--base", "HEAD", "--stack", "tiny"]);
        assert.match(none.stdout, /^No changes\.$/m);
    } finally {
        git("reset", "-q", "--hard", "HEAD~1");
    }
});

test("errors: a bad ref exits 2 naming it; an invalid head config exits 1 with the report; temp dirs are removed", async () => {
    writeFileSync(devFile(), devOriginal);
    const bad = await planDiff(["--base", "no-such-branch"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /plan:diff: "no-such-branch" names no commit/);
    const usage = await planDiff(["--stack", "dev"]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--base is required/);
    setDev("  homelab:podSubnet: 10.0.0.0/8\n");
    const invalid = await planDiff(["--base", "main", "--stack", "dev"]);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stdout, /^ERROR: podSubnet\/serviceSubnet: 10\.0\.0\.0\/8 and 10\.96\.0\.0\/12 overlap/m);
    writeFileSync(devFile(), devOriginal);
    assert.deepEqual(leftovers(), []);
});

test("a base whose plan cannot be evaluated is an error (exit 2), not an empty diff", async () => {
    writeFileSync(devFile(), devOriginal);
    git("rm", "-q", "--cached", "tools/plan.ts");
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "no plan tool");
    try {
        const run = await planDiff(["--base", "HEAD", "--stack", "dev"]);
        assert.equal(run.status, 2);
        assert.match(run.stderr, /has no tools\/plan\.ts: the base predates the offline plan/);
        assert.deepEqual(leftovers(), []);
    } finally {
        git("reset", "-q", "--soft", "HEAD~1");
        git("add", "tools/plan.ts");
    }
});
