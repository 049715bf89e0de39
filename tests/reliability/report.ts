/**
 * The committed reliability report (docs/reliability.md), for the tests that check it is current.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** The committed report's text. */
export function committedReport(): string {
    return readFileSync(path.resolve(__dirname, "../../docs/reliability.md"), "utf8");
}

/** The committed report's section `## title` (up to the next `## `). */
export function committedSection(title: string): string {
    const text = committedReport();
    const start = text.indexOf(`\n## ${title}\n`);
    if (start < 0) throw new Error(`docs/reliability.md has no "## ${title}" section: run npm run verify:reliability`);
    const end = text.indexOf("\n## ", start + 1);
    return text.slice(start + 1, end < 0 ? undefined : end);
}

/** How to fix a stale section of the report. */
export function stale(section: "bad-inputs" | "secrets" | "faults" | "interrupted"): string {
    return `docs/reliability.md is stale: run npm run verify:reliability -- --only ${section} and commit it`;
}
