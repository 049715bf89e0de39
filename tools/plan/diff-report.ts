/**
 * Renders a `PlanDiff` for people: text for a terminal, Markdown for a pull-request comment. Replacements and
 * destructive deletes come first and loud; every changed input shows how it changed (scripts and files as unified
 * diffs, Helm values and other structures as YAML diffs).
 */
import * as YAML from "yaml";
import type { InputChange, PlanDiff, ResourceChange } from "./diff";
import { isEmptyDiff } from "./diff";
import { details, escapeHtml, fenced } from "./markdown";
import { keyInputs, type PlanEntry } from "./plan";
import { unifiedDiff } from "./unified";

/** Where the two plans came from, for the report header. */
export interface DiffSides {
    /** e.g. `main (1a2b3c4)`. */
    readonly base: string;
    /** e.g. `working tree`. */
    readonly head: string;
}

function isText(v: unknown): v is { text: string } {
    return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { text?: unknown }).text === "string" && Object.keys(v).length === 1;
}

function textOf(v: unknown): string | undefined {
    if (isText(v)) {
        return v.text;
    }
    return typeof v === "string" && v.includes("\n") ? v : undefined;
}

function scalar(v: unknown): string {
    return v === undefined ? "(absent)" : JSON.stringify(v);
}

/** How one input changed: a one-liner, or a unified diff (text) / YAML diff (structures). */
export function describeInputChange(change: InputChange): { summary: string; diff?: string } {
    const mark = change.replace ? " (forces replacement)" : "";
    if (change.secret) {
        return { summary: `${change.key}: [secret] changed${mark}` };
    }
    const a = textOf(change.before);
    const b = textOf(change.after);
    if (a !== undefined || b !== undefined) {
        const before = a ?? (change.before === undefined ? "" : YAML.stringify(change.before));
        const after = b ?? (change.after === undefined ? "" : YAML.stringify(change.after));
        const lines = (t: string): number => (t === "" ? 0 : t.replace(/\n$/, "").split("\n").length);
        return {
            summary: `${change.key}: ${lines(before)} → ${lines(after)} lines${mark}`,
            diff: unifiedDiff(before, after, { from: `base/${change.key}`, to: `head/${change.key}` }),
        };
    }
    const structured = (v: unknown): boolean => typeof v === "object" && v !== null;
    if (structured(change.before) || structured(change.after)) {
        const yaml = (v: unknown): string => (v === undefined ? "" : YAML.stringify(v, { lineWidth: 0 }));
        return {
            summary: `${change.key}: ${change.paths.join(", ")}${mark}`,
            diff: unifiedDiff(yaml(change.before), yaml(change.after), { from: `base/${change.key}`, to: `head/${change.key}` }),
        };
    }
    return { summary: `${change.key}: ${scalar(change.before)} → ${scalar(change.after)}${mark}` };
}

function counts(diff: PlanDiff): { add: number; remove: number; update: number; replace: number } {
    return {
        add: diff.added.length,
        remove: diff.removed.length,
        update: diff.changed.filter((c) => !c.replace).length,
        replace: diff.changed.filter((c) => c.replace).length,
    };
}

function where(entry: { type: string; parent: string | null }): string {
    return `[${entry.type}]${entry.parent ? ` in ${entry.parent}` : ""}`;
}

function indent(text: string, by: string): string[] {
    return text
        .trimEnd()
        .split("\n")
        .map((l) => `${by}${l}`);
}

/** The diff as terminal text. */
export function renderDiffText(diff: PlanDiff, sides: DiffSides): string {
    const c = counts(diff);
    const out = [`Plan diff for stack "${diff.stack}": ${sides.base} → ${sides.head}`];
    for (const e of diff.errors.base) {
        out.push(`base ERROR: ${e}`);
    }
    for (const e of diff.errors.head) {
        out.push(`ERROR: ${e}`);
    }
    out.push(`${c.add} to add, ${c.update} to update, ${c.replace} to REPLACE, ${c.remove} to remove, ${diff.unchanged} unchanged`);
    for (const h of diff.hazards) {
        out.push(`!! DESTRUCTIVE: ${h.name} would be ${h.action === "remove" ? "REMOVED" : "REPLACED"}: ${h.hazard}`);
    }
    for (const n of diff.previewNotes) {
        out.push(`note: ${n}`);
    }
    if (isEmptyDiff(diff)) {
        out.push("No changes.");
        return `${out.join("\n")}\n`;
    }
    const section = (title: string, items: string[]): void => {
        if (items.length > 0) {
            out.push("", title, ...items);
        }
    };
    const changeLines = (ch: ResourceChange): string[] => {
        const head = ch.replace
            ? `+- ${ch.name}  ${where(ch)}  REPLACE because ${ch.replaceBecause.join(", ")}`
            : `~  ${ch.name}  ${where(ch)}  update`;
        const lines = [head];
        for (const input of ch.inputs) {
            const d = describeInputChange(input);
            lines.push(`     ${d.summary}`);
            if (d.diff) {
                lines.push(...indent(d.diff, "       "));
            }
        }
        return lines;
    };
    section("Replaced (the old one is deleted after the new one is created):", diff.changed.filter((x) => x.replace).flatMap(changeLines));
    section("Updated in place:", diff.changed.filter((x) => !x.replace).flatMap(changeLines));
    section("Added:", diff.added.map((a) => `+  ${a.entry.name}  ${where(a.entry)}`));
    section("Removed (their delete runs):", diff.removed.map((r) => `-  ${r.entry.name}  ${where(r.entry)}${r.hazard ? `  !! ${r.hazard}` : ""}`));
    return `${out.join("\n")}\n`;
}

function mdChange(ch: ResourceChange): string {
    const title = ch.replace
        ? `:warning: **REPLACE** <code>${escapeHtml(ch.name)}</code> · ${escapeHtml(ch.type)}${ch.parent ? ` in ${escapeHtml(ch.parent)}` : ""} — because ${ch.replaceBecause.map((p) => `<code>${escapeHtml(p)}</code>`).join(", ")}`
        : `update <code>${escapeHtml(ch.name)}</code> · ${escapeHtml(ch.type)}${ch.parent ? ` in ${escapeHtml(ch.parent)}` : ""}`;
    const body: string[] = [];
    for (const input of ch.inputs) {
        const d = describeInputChange(input);
        body.push(`- \`${d.summary.replace(/`/g, "'")}\``);
        if (d.diff) {
            body.push("", fenced(d.diff, "diff"), "");
        }
    }
    return details(title, body.join("\n"));
}

function mdEntry(entry: PlanEntry, hazard?: string): string {
    const lines = keyInputs(entry);
    const title = `<code>${escapeHtml(entry.name)}</code> · ${escapeHtml(entry.type)}${entry.parent ? ` in ${escapeHtml(entry.parent)}` : ""}${hazard ? ` — :boom: ${escapeHtml(hazard)}` : ""}`;
    return lines.length > 0 ? details(title, fenced(lines.join("\n"))) : `- ${title}`;
}

/**
 * The top of a pull-request comment over several stacks: one row of counts per stack, then every destructive change
 * of every stack. It comes before the per-stack sections, so a comment cut to GitHub's size limit still shows it.
 */
export function renderDiffSummaryMarkdown(diffs: readonly PlanDiff[]): string {
    const out = ["| stack | add | update | replace | remove | destructive | invalid at the head |", "| --- | ---: | ---: | ---: | ---: | ---: | :---: |"];
    for (const diff of diffs) {
        const c = counts(diff);
        out.push(
            `| \`${diff.stack}\` | ${c.add} | ${c.update} | ${c.replace > 0 ? `**${c.replace}**` : "0"} | ${c.remove} | ` +
                `${diff.hazards.length > 0 ? `**${diff.hazards.length}**` : "0"} | ${diff.errors.head.length > 0 ? "**yes**" : "no"} |`,
        );
    }
    out.push("");
    const hazards = diffs.flatMap((d) => d.hazards.map((h) => ({ stack: d.stack, ...h })));
    if (hazards.length > 0) {
        out.push(
            "> [!CAUTION]",
            "> **Destructive changes** in these stacks — review before `pulumi up`:",
            ...hazards.map((h) => `> - \`${h.stack}\`: \`${h.name}\` would be **${h.action === "remove" ? "removed" : "replaced"}**: ${escapeHtml(h.hazard)}`),
            "",
        );
    }
    return `${out.join("\n")}\n`;
}

/** The diff as Markdown (one stack's section of a pull-request comment). */
export function renderDiffMarkdown(diff: PlanDiff, sides: DiffSides): string {
    const c = counts(diff);
    const out = [`### Stack \`${diff.stack}\``, "", `${escapeHtml(sides.base)} → ${escapeHtml(sides.head)}`, ""];
    out.push("| add | update | replace | remove | unchanged |", "| ---: | ---: | ---: | ---: | ---: |");
    out.push(`| ${c.add} | ${c.update} | ${c.replace > 0 ? `**${c.replace}**` : "0"} | ${c.remove} | ${diff.unchanged} |`, "");
    if (diff.errors.head.length > 0) {
        out.push("> [!CAUTION]", "> The stack config is invalid at the head: nothing would be deployed.", ...diff.errors.head.map((e) => `> - ${escapeHtml(e)}`), "");
    }
    if (diff.errors.base.length > 0) {
        out.push("Errors at the base (the diff compares against an empty plan):", "", ...diff.errors.base.map((e) => `- ${escapeHtml(e)}`), "");
    }
    if (diff.hazards.length > 0) {
        out.push(
            "> [!CAUTION]",
            "> **Destructive changes** — review before `pulumi up`:",
            ...diff.hazards.map((h) => `> - \`${h.name}\` would be **${h.action === "remove" ? "removed" : "replaced"}**: ${escapeHtml(h.hazard)}`),
            "",
        );
    }
    if (diff.previewNotes.length > 0) {
        out.push("> [!NOTE]", ...diff.previewNotes.map((n) => `> ${escapeHtml(n)}`), "");
    }
    if (isEmptyDiff(diff)) {
        out.push("No changes.", "");
        return `${out.join("\n")}\n`;
    }
    const replaced = diff.changed.filter((x) => x.replace);
    const updated = diff.changed.filter((x) => !x.replace);
    if (replaced.length > 0) {
        out.push(`#### Replaced (${replaced.length}): the new one is created, then the old one's delete runs`, "", ...replaced.map((x) => `${mdChange(x)}\n`));
    }
    if (updated.length > 0) {
        out.push(`#### Updated in place (${updated.length})`, "", ...updated.map((x) => `${mdChange(x)}\n`));
    }
    if (diff.added.length > 0) {
        out.push(`#### Added (${diff.added.length})`, "", ...diff.added.map((a) => `${mdEntry(a.entry)}\n`));
    }
    if (diff.removed.length > 0) {
        out.push(`#### Removed (${diff.removed.length}): their delete runs`, "", ...diff.removed.map((r) => `${mdEntry(r.entry, r.hazard)}\n`));
    }
    return `${out.join("\n")}\n`;
}
