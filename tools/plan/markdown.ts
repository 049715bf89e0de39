/**
 * Markdown building blocks for plan reports and pull-request comments.
 */
import * as YAML from "yaml";
import { renderMermaid } from "./mermaid";
import type { PlanDocument } from "./plan";

/** A fenced code block whose fence is longer than any backtick run in `text`, so the text cannot close it. */
export function fenced(text: string, lang = ""): string {
    const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    const fence = "`".repeat(longest + 1);
    return `${fence}${lang}\n${text.endsWith("\n") ? text : `${text}\n`}${fence}`;
}

/** Escapes text for HTML (e.g. inside `<summary>`). */
export function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A collapsible section. */
export function details(summary: string, body: string): string {
    return `<details><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

/** Inputs as YAML: scripts and assets show as block text, secrets stay `[secret]`. */
export function inputsYaml(inputs: Readonly<Record<string, unknown>>): string {
    const shown = Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== "__defaults"));
    return YAML.stringify(shown, { lineWidth: 0, blockQuote: "literal" });
}

function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The plan as a pull-request-ready Markdown report. */
export function renderMarkdown(plan: PlanDocument): string {
    const out: string[] = [`## Offline plan: stack \`${plan.stack}\` (project ${plan.project})`, ""];
    out.push(
        `**${plan.summary.resources} resources** in **${plan.summary.waves} waves**, grouped by ${plan.summary.components} components ` +
            `· ${count(plan.errors.length, "error")} · ${count(plan.warnings.length, "warning")}`,
        "",
    );
    if (plan.errors.length > 0) {
        out.push("### Errors", "", ...plan.errors.map((e) => `- :x: ${escapeHtml(e)}`), "", "Nothing would be deployed: fix the errors above.", "");
    }
    if (plan.warnings.length > 0) {
        out.push("### Warnings", "", ...plan.warnings.map((w) => `- :warning: ${escapeHtml(w)}`), "");
    }
    if (plan.errors.length > 0) {
        return `${out.join("\n")}\n`;
    }
    out.push("### Bootstrap graph", "", "One box per component, `wN` is the resource's wave; arrows are dependencies (transitively reduced).", "");
    out.push(fenced(renderMermaid(plan), "mermaid"), "");
    out.push("### Resources", "", "Inputs as the engine receives them; secrets are shown as `[secret]`.", "");
    for (const wave of plan.waves) {
        out.push(`#### Wave ${wave.wave}`, "");
        for (const r of wave.resources) {
            const where = r.parent ? ` in ${escapeHtml(r.parent)}` : "";
            const lines: string[] = [];
            if (r.waitsFor.length > 0) {
                lines.push(`Waits for: ${r.waitsFor.map((w) => `\`${w}\``).join(", ")}`, "");
            }
            const secretOutputs = r.secretOutputs.filter((o) => o !== "connection");
            if (secretOutputs.length > 0) {
                lines.push(`Secret outputs: ${secretOutputs.map((o) => `\`${o}\``).join(", ")}`, "");
            }
            lines.push(fenced(inputsYaml(r.inputs), "yaml"));
            out.push(details(`<code>${escapeHtml(r.name)}</code> · ${escapeHtml(r.type)}${where}`, lines.join("\n")), "");
        }
    }
    return `${out.join("\n")}\n`;
}
