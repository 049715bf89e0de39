/**
 * docs/reliability.md, section by section. Every section is a pure function of its matrix and holds no timing, so
 * the same code gives the same text on every machine: the tests and `verify:reliability -- --check` compare the
 * committed report with a fresh rendering.
 */
import type { BadInputMatrix } from "./bad-inputs";
import { knownFinding, type FaultMatrix } from "./faults";
import type { InterruptedMatrix } from "./interrupted";
import type { SecretAudit } from "./secrets";

/** Markdown-safe table cell. */
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ⏎ ");
const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``;

/** The bad-input matrix: every example with its exact message, then the coverage of the message templates. */
export function renderBadInputs(m: BadInputMatrix): string {
    const failing = m.rows.filter((r) => r.message === undefined || r.accepted);
    const uncovered = m.sites.filter((s) => s.hits.length === 0);
    const files = new Set(m.sites.map((s) => s.site.where.split(":")[0]));
    const domains = [...new Set(m.rows.map((r) => r.domain))];
    return [
        "## Bad-input matrix",
        "",
        `${m.rows.length} examples (${domains.map((d) => `${d}: ${m.rows.filter((r) => r.domain === d).length}`).join(", ")}), ` +
            `${m.rows.length - failing.length} refused with their message before any resource is registered` +
            `${failing.length > 0 ? `; ${failing.length} NOT` : ""}. The examples are the tables the tests run ` +
            "(tests/config/bad-inputs.ts, tests/cilium/bad-inputs.ts, tests/istio/bad-inputs.ts; the program-level rule in " +
            "tools/reliability/bad-inputs.ts). The message column is exactly what the user sees.",
        "",
        "| # | domain | rule | input (changes from a valid two-node lab) | message |",
        "| ---: | --- | --- | --- | --- |",
        ...m.rows.map((r, i) => `| ${i + 1} | ${r.domain} | ${cell(r.rule)} | ${cell(r.input)} | ${r.message === undefined ? "**no matching message**" : cell(r.message)} |`),
        "",
        "### Every rule has an example",
        "",
        `The validation code (${[...files].join(", ")}) holds ${m.sites.length} message templates, found by parsing it ` +
            "(tools/reliability/message-sites.ts: every `errors.push`/`problems.push`, `error:` and, as fragments, " +
            "`reason:` and returned strings); each becomes a pattern of its literal text. " +
            (uncovered.length === 0
                ? `All ${m.sites.length} are produced by at least one example above.`
                : `${uncovered.length} are produced by NO example.`),
        "",
        "| template (computed parts as …) | kind | where | examples |",
        "| --- | --- | --- | ---: |",
        ...m.sites.map((s) => `| ${cell(s.site.template.length > 110 ? `${s.site.template.slice(0, 107)}...` : s.site.template)} | ${s.site.kind} | ${s.site.where.replace(/:\d+$/, "")} | ${s.hits.length === 0 ? "**0**" : s.hits.length} |`),
        "",
    ].join("\n");
}

/** The fault matrix: per step, then every case. */
export function renderFaults(m: FaultMatrix): string {
    const converged = m.cases.filter((c) => c.converged).length;
    const known = m.cases.filter((c) => !c.converged && knownFinding(c, c.kind) !== undefined);
    const unknown = m.cases.filter((c) => !c.converged && knownFinding(c, c.kind) === undefined);
    const byStep = m.steps.map((s) => {
        const cases = m.cases.filter((c) => c.stack === s.stack && c.step === s.step);
        const count = (pred: (c: (typeof cases)[number]) => boolean): number => cases.filter(pred).length;
        const outcome =
            s.sameAs !== undefined
                ? `same calls as ${s.sameAs}`
                : s.calls.length === 0
                  ? "no stub call (real tools only: it writes or reads files)"
                  : `${count((c) => c.outcome === "failed" && c.converged)} failed → converged, ${count((c) => c.outcome === "tolerated" && c.converged)} tolerated → converged, ${count((c) => !c.converged)} did not converge`;
        return `| ${s.stack} | ${s.step} | ${s.node} | ${s.calls.length} | ${s.sameAs !== undefined ? 0 : cases.length} | ${outcome} |`;
    });
    return [
        "## Fault matrix",
        "",
        `Plans ${m.plans.map((p) => `\`${p.stack}\` (${p.nodes} nodes)`).join(" and ")}: the dev stack with one control plane and ` +
            "one worker, then the ha stack (kube-vip, two control planes, one worker) for the steps the first did not " +
            "cover, executed on simulated hosts from the program's own plan (tests/host/plan-run.ts). For every command " +
            "step, each stub call of its clean run fails in " +
            "turn (the tool exits non-zero the way the real one fails, read-only calls included), then the failed step and " +
            "every later one run again, as the next `pulumi up` would (a step that handled the failure and succeeded is not " +
            "re-run). Converged = the end state (files, stub state, the cluster, on every host) equals a clean run's, " +
            "except content that differs between any two clusters (CA keys) and kubeadm's logs.",
        "",
        `${m.cases.length} faults injected: ${converged} converged, ${known.length} known findings (below), ` +
            `${unknown.length} unexplained.`,
        "",
        "| stack | step | host | calls | faults | outcome |",
        "| --- | --- | --- | ---: | ---: | --- |",
        ...byStep,
        "",
        "### Findings",
        "",
        ...(known.length + unknown.length === 0
            ? ["None: every fault converged."]
            : [...known, ...unknown].map(
                  (c) =>
                      `- **${c.stack}/${c.step}, call ${c.index} (${code(c.call)}) ${c.outcome}** and did not converge: ` +
                      `${knownFinding(c, c.kind) ?? "UNEXPLAINED"}. Observed: ${c.detail ?? ""}`,
              )),
        "",
        "### Every case",
        "",
        "| stack | step | # | failed call | mutating | step outcome | converged |",
        "| --- | --- | ---: | --- | :---: | --- | :---: |",
        ...m.cases.map((c) => `| ${c.stack} | ${c.step} | ${c.index} | ${cell(code(c.call))} | ${c.mutating ? "yes" : "no"} | ${c.outcome} | ${c.converged ? "yes" : "**no**"} |`),
        "",
    ].join("\n");
}

/** The secret audit, per stack. */
export function renderSecrets(audits: readonly SecretAudit[], canaryFindings: number): string {
    const findings = audits.flatMap((a) => a.findings.map((f) => `${a.stack}: ${f}`));
    return [
        "## Secret audit",
        "",
        "Every stack evaluated with known fake secrets injected: the bootstrap token's secret half and the kubeadm " +
            "certificate key (two RandomPasswords, each its own value), an SSH private key (`sshPrivateKey`, set as a " +
            "secret), the admin kubeconfig and kubeadm init's output (which prints the join command with the token) as " +
            "command outputs. Every string among the registered inputs outside a secret wrapper, every output the mocks " +
            "produced that is not a declared secret output, the offline plan and the stack outputs are searched for each " +
            "value (tools/reliability/secrets.ts).",
        "",
        "| stack | resources | string inputs | secret-wrapped inputs | outputs carrying values | secret outputs | stack outputs (secret) | plaintext findings |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ...audits.map(
            (a) =>
                `| ${a.stack} | ${a.resources} | ${a.inputValues} | ${a.secretInputs} | ${a.outputValues} | ${a.secretOutputs} | ${a.exports} (${a.secretExports}) | ${a.findings.length} |`,
        ),
        "",
        findings.length === 0 ? "No plaintext occurrence, and every output carrying a secret is a secret." : findings.map((f) => `- ${f}`).join("\n"),
        `Negative control: with a preflight step made to print the token and the certificate key without a secret flag, the audit reports ${canaryFindings} finding(s) on the dev stack.`,
        "",
    ].join("\n");
}

/** The interrupted-apply matrix. */
export function renderInterrupted(m: InterruptedMatrix): string {
    const failing = m.cases.filter((c) => !c.converged);
    const row = (wave: number): string => {
        const of = (mode: "rerun" | "resume"): string => {
            const c = m.cases.find((x) => x.wave === wave && x.mode === mode);
            return c === undefined ? "—" : c.converged ? "converged" : `**${cell(c.detail ?? "differs")}**`;
        };
        const steps = m.cases.find((x) => x.wave === wave)?.stepsBefore ?? 0;
        return `| ${wave} | ${steps} | ${of("rerun")} | ${of("resume")} |`;
    };
    return [
        "## Interrupted apply",
        "",
        `Stack \`${m.stack}\` (${m.nodes} nodes, ${m.waves} waves) on simulated hosts: the plan stops after wave k, then ` +
            "runs again — `rerun`: every wave from the first; `resume`: only the waves after k, as the engine does. The end " +
            "state must equal a clean single run's (same comparison as the fault matrix).",
        "",
        `${m.cases.length} interruptions: ${m.cases.length - failing.length} converged${failing.length > 0 ? `, ${failing.length} did NOT` : ""}.`,
        "",
        "| stopped after wave | steps done | rerun | resume |",
        "| ---: | ---: | --- | --- |",
        ...Array.from({ length: m.waves }, (_, i) => row(i + 1)),
        "",
    ].join("\n");
}

/** The report's matrices, in the order they appear. */
export const SECTIONS = ["bad-inputs", "faults", "secrets", "interrupted"] as const;
export type Section = (typeof SECTIONS)[number];

/** A section's summary line (top of the report) and its text (from its `## ` heading). */
export interface SectionText {
    readonly summary: string;
    readonly text: string;
}

const TITLES: Readonly<Record<Section, string>> = {
    "bad-inputs": "Bad-input matrix",
    faults: "Fault matrix",
    secrets: "Secret audit",
    interrupted: "Interrupted apply",
};
const SUMMARY_PREFIX: Readonly<Record<Section, string>> = {
    "bad-inputs": "Bad inputs: ",
    faults: "Faults: ",
    secrets: "Secrets: ",
    interrupted: "Interrupted apply: ",
};

/** The committed report's sections, to keep the ones a `--only` run does not recompute. */
export function reportSections(report: string): Partial<Record<Section, SectionText>> {
    const found: Partial<Record<Section, SectionText>> = {};
    for (const section of SECTIONS) {
        const start = report.indexOf(`\n## ${TITLES[section]}\n`);
        const summary = report.split("\n").find((l) => l.startsWith(`- ${SUMMARY_PREFIX[section]}`));
        if (start < 0 || summary === undefined) continue;
        const end = report.indexOf("\n## ", start + 1);
        found[section] = { summary: summary.slice(2), text: report.slice(start + 1, end < 0 ? undefined : end) };
    }
    return found;
}

/** The whole report. */
export function renderReport(sections: Readonly<Record<Section, SectionText>>): string {
    return [
        "# Reliability report",
        "",
        "Generated by `npm run verify:reliability` (which rewrites this file; `-- --check` fails when it is stale, " +
            "`-- --only bad-inputs,secrets` refreshes those sections in seconds). Nothing here is timed, so the same code " +
            "gives the same report on every machine.",
        "",
        ...SECTIONS.map((s) => `- ${sections[s].summary}`),
        "",
        ...SECTIONS.map((s) => sections[s].text),
    ].join("\n");
}
