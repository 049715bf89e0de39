/**
 * A small line-based unified diff (the `diff -u` format), pure and dependency-free, for showing how a script or a
 * YAML document changed between two plans.
 */

/** Options for `unifiedDiff`. */
export interface UnifiedDiffOptions {
    /** Label of the old text (`--- label`). */
    readonly from?: string;
    /** Label of the new text (`+++ label`). */
    readonly to?: string;
    /** Unchanged lines shown around each change; 3 like `diff -u`. */
    readonly context?: number;
}

type Op = { readonly kind: " " | "-" | "+"; readonly line: string; readonly a: number; readonly b: number };

/** Above this many cells the LCS table is not built: the texts are shown as one removal and one addition. */
const MAX_CELLS = 4_000_000;

function splitLines(text: string): string[] {
    if (text === "") {
        return [];
    }
    const lines = text.split("\n");
    // A trailing newline ends the last line; it does not start an empty one.
    if (lines[lines.length - 1] === "") {
        lines.pop();
    }
    return lines;
}

/** Edit script from `a` to `b` via a longest common subsequence of lines. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
    // Common prefix and suffix first: most edits are small, and this keeps the table small.
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) {
        start++;
    }
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
        endA--;
        endB--;
    }
    const ops: Op[] = [];
    for (let i = 0; i < start; i++) {
        ops.push({ kind: " ", line: a[i], a: i, b: i });
    }
    const n = endA - start;
    const m = endB - start;
    if (n * m > MAX_CELLS) {
        for (let i = start; i < endA; i++) {
            ops.push({ kind: "-", line: a[i], a: i, b: start });
        }
        for (let j = start; j < endB; j++) {
            ops.push({ kind: "+", line: b[j], a: endA, b: j });
        }
    } else {
        // lcs[i][j] = LCS length of a[start+i..endA) and b[start+j..endB).
        const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
        for (let i = n - 1; i >= 0; i--) {
            for (let j = m - 1; j >= 0; j--) {
                lcs[i][j] = a[start + i] === b[start + j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        let i = 0;
        let j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[start + i] === b[start + j]) {
                ops.push({ kind: " ", line: a[start + i], a: start + i, b: start + j });
                i++;
                j++;
            } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
                // Removals before additions, as diff -u prints them.
                ops.push({ kind: "-", line: a[start + i], a: start + i, b: start + j });
                i++;
            } else {
                ops.push({ kind: "+", line: b[start + j], a: start + i, b: start + j });
                j++;
            }
        }
    }
    for (let i = endA, j = endB; i < a.length; i++, j++) {
        ops.push({ kind: " ", line: a[i], a: i, b: j });
    }
    return ops;
}

function range(start: number, count: number): string {
    // diff -u: a zero-length range names the line before it.
    return count === 1 ? `${start + 1}` : `${count === 0 ? start : start + 1},${count}`;
}

/**
 * The unified diff of two texts, or "" when they are equal. Hunks carry `context` unchanged lines on each side,
 * and overlapping hunks merge, as in `diff -u`.
 */
export function unifiedDiff(before: string, after: string, options: UnifiedDiffOptions = {}): string {
    if (before === after) {
        return "";
    }
    const context = options.context ?? 3;
    const ops = editScript(splitLines(before), splitLines(after));
    const changed = ops.map((op, i) => (op.kind === " " ? -1 : i)).filter((i) => i >= 0);
    if (changed.length === 0) {
        // Only a trailing newline differs.
        return `--- ${options.from ?? "before"}\n+++ ${options.to ?? "after"}\n\\ the texts differ only in a trailing newline\n`;
    }
    const hunks: { from: number; to: number }[] = [];
    for (const i of changed) {
        const from = Math.max(0, i - context);
        const to = Math.min(ops.length - 1, i + context);
        const last = hunks[hunks.length - 1];
        if (last && from <= last.to + 1) {
            last.to = Math.max(last.to, to);
        } else {
            hunks.push({ from, to });
        }
    }
    const out = [`--- ${options.from ?? "before"}`, `+++ ${options.to ?? "after"}`];
    for (const hunk of hunks) {
        const slice = ops.slice(hunk.from, hunk.to + 1);
        const oldCount = slice.filter((op) => op.kind !== "+").length;
        const newCount = slice.filter((op) => op.kind !== "-").length;
        const first = slice[0];
        out.push(`@@ -${range(first.a, oldCount)} +${range(first.b, newCount)} @@`);
        out.push(...slice.map((op) => `${op.kind}${op.line}`));
    }
    return `${out.join("\n")}\n`;
}
