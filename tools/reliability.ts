/**
 * `npm run verify:reliability [-- --check | --only bad-inputs,secrets,faults,interrupted]`
 *
 * Runs the four reliability matrices and writes docs/reliability.md:
 *   - bad inputs: every validation rule with an example and its exact message, and proof that every message template
 *     of the validation code is produced by an example;
 *   - faults: every stub call of every step of the plan failed in turn on simulated hosts, then a re-run;
 *   - secrets: every stack evaluated with known secrets, every input and output searched;
 *   - interrupted apply: the plan stopped after each wave, then run again.
 * `--check` writes nothing and fails when the committed report differs from this run's (CI runs it). `--only` runs
 * the named matrices and keeps the committed report's other sections (bad inputs and secrets take seconds, the host
 * matrices minutes), to refresh a stale section quickly. Exits 1 when a bad input is accepted, a template has no
 * example, a secret leaks, an interruption or fault does not converge (other than the documented findings), a
 * documented finding no longer occurs, or (with --check) the report is stale.
 */
import { exitAfterFlush } from "./plan/exit";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { loadPlanSteps } from "../tests/host/plan-steps";
import { namespaceSupport } from "../tests/host/harness";
import { badInputMatrix } from "./reliability/bad-inputs";
import { faultMatrix, KNOWN_FAULT_FINDINGS, knownFinding, FAULT_PLANS } from "./reliability/faults";
import { interruptedMatrix } from "./reliability/interrupted";
import { renderBadInputs, renderFaults, renderInterrupted, renderReport, renderSecrets, reportSections, SECTIONS, type Section, type SectionText } from "./reliability/report";
import { auditStack, secretAudit } from "./reliability/secrets";

const REPORT = path.resolve(__dirname, "../docs/reliability.md");
const log = (text: string): boolean => process.stderr.write(`${text}\n`);

/** Runs one matrix: its report section, its summary line, and the problems it found. */
async function runSection(section: Section): Promise<SectionText & { problems: string[] }> {
    const problems: string[] = [];
    switch (section) {
        case "bad-inputs": {
            log("bad-input matrix...");
            const bad = await badInputMatrix();
            for (const r of bad.rows) {
                if (r.message === undefined || r.accepted) problems.push(`bad input "${r.rule}" (${r.domain}) did not produce its message: ${r.all.join(" | ")}`);
            }
            for (const s of bad.sites) if (s.hits.length === 0) problems.push(`no example produces the message at ${s.site.where}: ${s.site.template}`);
            const summary = `Bad inputs: ${bad.rows.length} examples, ${bad.rows.filter((r) => r.message !== undefined && !r.accepted).length} refused with their exact message; ${bad.sites.filter((s) => s.hits.length > 0).length} of ${bad.sites.length} message templates of the validation code produced by an example.`;
            return { summary, text: renderBadInputs(bad), problems };
        }
        case "secrets": {
            log("secret audit...");
            const audits = await secretAudit();
            const canary = await auditStack("dev", true);
            for (const a of audits) problems.push(...a.errors.map((e) => `${a.stack}: program error ${e}`), ...a.findings.map((f) => `${a.stack}: ${f}`));
            if (canary.findings.length === 0) problems.push("the secret audit's negative control found nothing: the search is broken");
            const sum = (f: (a: (typeof audits)[number]) => number): number => audits.reduce((n, a) => n + f(a), 0);
            const summary = `Secrets: ${audits.length} stacks, ${sum((a) => a.resources)} resources, ${sum((a) => a.inputValues)} string inputs and ${sum((a) => a.outputValues)} mocked outputs scanned, ${sum((a) => a.secretInputs)} secret-wrapped inputs; ${sum((a) => a.findings.length)} plaintext findings.`;
            return { summary, text: renderSecrets(audits, canary.findings.length), problems };
        }
        case "faults": {
            log("fault matrix (every stub call of every step; several minutes)...");
            let done = 0;
            const plans = await Promise.all(FAULT_PLANS.map((p) => loadPlanSteps(p)));
            const faults = await faultMatrix(plans, {
                onCase: (c) => log(`  ${++done} ${c.stack}/${c.step} #${c.index} ${c.outcome}${c.converged ? "" : " — did not converge"}`),
            });
            for (const c of faults.cases) {
                if (!c.converged && knownFinding(c, c.kind) === undefined) problems.push(`fault at ${c.stack}/${c.step} #${c.index} (${c.call}) did not converge: ${c.detail ?? ""}`);
            }
            for (const k of KNOWN_FAULT_FINDINGS) {
                if (!faults.cases.some((c) => !c.converged && c.kind === k.step && k.call.test(c.call))) {
                    problems.push(`the documented finding for ${k.step} (${String(k.call)}) no longer occurs: remove it from KNOWN_FAULT_FINDINGS`);
                }
            }
            const summary = `Faults: ${faults.cases.length} injected failures (every stub call of every distinct step of ${faults.plans.map((p) => `the ${p.nodes}-node ${p.stack} plan`).join(" and ")}), ${faults.cases.filter((c) => c.converged).length} converged after a re-run, ${faults.cases.filter((c) => !c.converged).length} documented findings.`;
            return { summary, text: renderFaults(faults), problems };
        }
        case "interrupted": {
            log("interrupted apply (every wave, rerun and resume)...");
            const interrupted = await interruptedMatrix(await loadPlanSteps({ stack: "dev" }));
            for (const c of interrupted.cases) if (!c.converged) problems.push(`interrupted after wave ${c.wave} (${c.mode}) did not converge: ${c.detail ?? ""}`);
            const summary = `Interrupted apply: ${interrupted.cases.length} interruptions (${interrupted.waves} waves × rerun/resume), ${interrupted.cases.filter((c) => c.converged).length} converged.`;
            return { summary, text: renderInterrupted(interrupted), problems };
        }
    }
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    const onlyAt = argv.indexOf("--only");
    const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? "").split(",") : [...SECTIONS];
    const bad = [
        ...argv.filter((a, i) => a !== "--check" && a !== "--only" && (onlyAt < 0 || i !== onlyAt + 1)),
        ...only.filter((o) => !(SECTIONS as readonly string[]).includes(o)),
        ...(onlyAt >= 0 && argv.includes("--check") ? ["--check with --only"] : []),
    ];
    if (bad.length > 0) {
        log(`bad argument "${bad[0]}" — usage: npm run verify:reliability -- [--check | --only ${SECTIONS.join(",")}]`);
        return 2;
    }
    const check = argv.includes("--check");
    const committed = existsSync(REPORT) ? readFileSync(REPORT, "utf8") : "";
    const kept = reportSections(committed);
    const problems: string[] = [];
    const sections = {} as Record<Section, SectionText>;
    for (const section of SECTIONS) {
        if (only.includes(section)) {
            if ((section === "faults" || section === "interrupted") && !(await namespaceSupport()).ok) {
                problems.push(`${section}: simulated hosts are unavailable here`);
                sections[section] = kept[section] ?? { summary: "", text: "" };
                continue;
            }
            const result = await runSection(section);
            problems.push(...result.problems);
            sections[section] = { summary: result.summary, text: result.text };
        } else {
            const previous = kept[section];
            if (!previous) {
                log(`the committed report has no ${section} section: run without --only`);
                return 2;
            }
            sections[section] = previous;
        }
    }
    const report = renderReport(sections);
    process.stdout.write(`${SECTIONS.map((s) => sections[s].summary).join("\n")}\n`);
    if (check) {
        if (committed !== report) problems.push("docs/reliability.md is stale: run npm run verify:reliability and commit it");
    } else {
        writeFileSync(REPORT, report);
        log(`wrote ${path.relative(process.cwd(), REPORT)}`);
    }
    for (const p of problems) log(`FAIL: ${p}`);
    return problems.length === 0 ? 0 : 1;
}

main().then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
        process.stderr.write(`verify:reliability failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        exitAfterFlush(2);
    },
);
