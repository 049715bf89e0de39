/**
 * The validation code's message templates, found by reading its source with the TypeScript compiler API: every
 * `errors.push(...)` / `problems.push(...)` argument and every `error:` property (a whole message), and every string a
 * helper returns or puts in `reason:` that becomes part of one (a fragment). Each template becomes a regular
 * expression: its literal text exactly, anything computed as a wildcard. The reliability report proves each is hit by
 * at least one example of the bad-input tables, so a rule added without an example fails the check.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import ts from "typescript";

/** Files holding validation rules (relative to the repository root). */
export const VALIDATION_FILES = [
    "components/config/index.ts",
    "components/config/net.ts",
    "components/config/operations.ts",
    "components/config/parse.ts",
    "components/config/stack.ts",
    "components/config/versions.ts",
    "components/cilium/settings.ts",
    "components/cilium/values.ts",
    "components/istio/settings.ts",
    "components/istio/values.ts",
    "components/istio/guard.ts",
] as const;

/** One message template in the source. */
export interface MessageSite {
    /** `file:line`. */
    readonly where: string;
    /** A whole message (anchored) or a fragment of one (found anywhere in a message). */
    readonly kind: "message" | "fragment";
    /** The template with computed parts as `…`, for the report. */
    readonly template: string;
    readonly pattern: RegExp;
}

const WILDCARD = "\u0000";

/**
 * Key-naming helpers of a file: `const key = (path: string): string => \`ciliumValues.${path}\``, as name → [prefix,
 * suffix], so `${key("cni.exclusive")}` in a message reads as the literal `ciliumValues.cni.exclusive`.
 */
function keyHelpers(source: ts.SourceFile): Map<string, [string, string]> {
    const helpers = new Map<string, [string, string]>();
    const visit = (node: ts.Node): void => {
        if (
            ts.isVariableDeclaration(node) &&
            node.initializer &&
            ts.isArrowFunction(node.initializer) &&
            node.initializer.parameters.length === 1 &&
            ts.isTemplateExpression(node.initializer.body) &&
            node.initializer.body.templateSpans.length === 1 &&
            node.initializer.body.templateSpans[0].expression.getText(source) === node.initializer.parameters[0].name.getText(source)
        ) {
            const body = node.initializer.body;
            helpers.set(node.name.getText(source), [body.head.text, body.templateSpans[0].literal.text]);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return helpers;
}

/** The text of a template span's expression: a key helper called with a literal, else WILDCARD. */
function spanText(expr: ts.Expression, helpers: ReadonlyMap<string, [string, string]>): string {
    if (ts.isCallExpression(expr) && ts.isIdentifier(expr.expression) && expr.arguments.length === 1) {
        const helper = helpers.get(expr.expression.text);
        const arg = expr.arguments[0];
        if (helper && ts.isStringLiteral(arg)) return helper[0] + arg.text + helper[1];
    }
    return WILDCARD;
}

/** The template text of a string-valued expression, computed parts as WILDCARD; undefined when not string-ish. */
function templateOf(node: ts.Expression, helpers: ReadonlyMap<string, [string, string]>): string | undefined {
    if (ts.isParenthesizedExpression(node)) return templateOf(node.expression, helpers);
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (ts.isTemplateExpression(node)) {
        return node.head.text + node.templateSpans.map((s) => spanText(s.expression, helpers) + s.literal.text).join("");
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        const left = templateOf(node.left, helpers);
        const right = templateOf(node.right, helpers);
        if (left === undefined && right === undefined) return undefined;
        return (left ?? WILDCARD) + (right ?? WILDCARD);
    }
    return undefined;
}

function toSite(file: string, source: ts.SourceFile, node: ts.Node, text: string, kind: MessageSite["kind"]): MessageSite | undefined {
    const literal = text.split(WILDCARD).join("");
    if (literal.trim().length < 3) return undefined; // a pass-through such as `${key}: ${problem}` has no rule of its own
    const body = text
        .split(WILDCARD)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("[\\s\\S]*?");
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    return {
        where: `${file}:${line}`,
        kind,
        template: text.split(WILDCARD).join("…"),
        pattern: kind === "message" ? new RegExp(`^${body}$`) : new RegExp(body),
    };
}

function enclosingFunctionName(node: ts.Node): string {
    for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
        if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name) return n.name.getText();
        if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && ts.isVariableDeclaration(n.parent)) return n.parent.name.getText();
    }
    return "";
}

/** Every message template in one file. */
export function messageSitesOf(root: string, file: string): MessageSite[] {
    const source = ts.createSourceFile(file, readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
    const sites: MessageSite[] = [];
    const helpers = keyHelpers(source);
    const add = (node: ts.Node, expr: ts.Expression, kind: MessageSite["kind"]): void => {
        const text = templateOf(expr, helpers);
        const site = text === undefined ? undefined : toSite(file, source, node, text, kind);
        if (site) sites.push(site);
    };
    const visit = (node: ts.Node): void => {
        if (
            ts.isCallExpression(node) &&
            ts.isPropertyAccessExpression(node.expression) &&
            node.expression.name.text === "push" &&
            ["errors", "problems"].includes(node.expression.expression.getText(source))
        ) {
            for (const arg of node.arguments) if (!ts.isSpreadElement(arg)) add(node, arg, "message");
        } else if (ts.isPropertyAssignment(node) && ["error", "reason"].includes(node.name.getText(source))) {
            add(node, node.initializer, node.name.getText(source) === "error" ? "message" : "fragment");
        } else if (ts.isReturnStatement(node) && node.expression && !/warning/i.test(enclosingFunctionName(node))) {
            add(node, node.expression, "fragment");
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return sites;
}

/** Every message template of the validation code. */
export function validationMessageSites(root: string): MessageSite[] {
    return VALIDATION_FILES.flatMap((file) => messageSitesOf(root, file));
}
